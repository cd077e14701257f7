// Overlay picture: same size as the photo, segment tint in the VOC colours,
// outlines, captions inside their segment and inside the image, legend
// swatches, ASCII folding for the Hershey font, and a JPEG that keeps R,G,B.
#include <gtest/gtest.h>
#include <unistd.h>

#include <opencv2/imgproc.hpp>

#include "io/ascii_text.hpp"
#include "io/image_loader.hpp"
#include "io/overlay.hpp"
#include "io/palette.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;
using zgseg::OverlaySegment;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("zgseg_ovl_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

// Pixels of `rgb` exactly equal to `c` (all three channels).
int pixels_equal(const cv::Mat& rgb, const zgseg::Rgb& c) {
    cv::Mat mask;
    cv::inRange(rgb, cv::Scalar(c[0], c[1], c[2]), cv::Scalar(c[0], c[1], c[2]), mask);
    return cv::countNonZero(mask);
}

// 400x300 grey photo; ids: left half 1, right half 2, bottom 60 rows 99 (not listed).
void scene(cv::Mat& photo, cv::Mat& labels) {
    photo = cv::Mat(300, 400, CV_8UC3, cv::Scalar(100, 100, 100));
    labels = cv::Mat(300, 400, CV_32S, cv::Scalar(1));
    labels(cv::Rect(200, 0, 200, 300)).setTo(2);
    labels(cv::Rect(0, 240, 400, 60)).setTo(99);
}

}  // namespace

TEST(Overlay, SameSizeTintOutlinesAndUntouchedUnlistedIds) {
    cv::Mat photo, labels;
    scene(photo, labels);
    zgseg::OverlayStyle plain;
    plain.draw_labels = plain.draw_legend = false;
    const cv::Mat out = zgseg::render_overlay(photo, labels, {{1, "sky"}, {2, "grass"}}, plain);
    ASSERT_EQ(out.size(), photo.size());
    ASSERT_EQ(out.type(), CV_8UC3);
    const zgseg::Rgb c1 = zgseg::voc_color(1);  // (128, 0, 0)
    const cv::Vec3b tinted = out.at<cv::Vec3b>(100, 50);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(tinted[c], 0.55 * 100 + 0.45 * c1[c], 1.0);
    EXPECT_EQ(out.at<cv::Vec3b>(280, 100), cv::Vec3b(100, 100, 100));  // id 99: untouched
    EXPECT_EQ(out.at<cv::Vec3b>(100, 199), cv::Vec3b(255, 255, 255));  // outline between 1 and 2
    EXPECT_EQ(out.at<cv::Vec3b>(239, 100), cv::Vec3b(255, 255, 255));  // outline between 1 and 99
}

TEST(Overlay, LowResolutionLabelsAreUpsampled) {
    cv::Mat photo, labels;
    scene(photo, labels);
    cv::Mat small;
    cv::resize(labels, small, cv::Size(40, 30), 0, 0, cv::INTER_NEAREST);
    zgseg::OverlayStyle plain;
    plain.draw_labels = plain.draw_legend = false;
    const cv::Mat a = zgseg::render_overlay(photo, labels, {{1, "a"}, {2, "b"}}, plain);
    const cv::Mat b = zgseg::render_overlay(photo, small, {{1, "a"}, {2, "b"}}, plain);
    EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0);
}

// The caption sits on the point deepest inside its segment, even for a ring
// whose centroid lies outside it.
TEST(Overlay, DeepestPointIsInsideNonConvexSegments) {
    cv::Mat ring(200, 200, CV_8U, cv::Scalar(0));
    cv::circle(ring, {100, 100}, 80, cv::Scalar(1), 30);
    const cv::Point p = zgseg::deepest_point(ring);
    EXPECT_EQ(ring.at<uchar>(p), 1);
    EXPECT_GT(cv::norm(p - cv::Point(100, 100)), 60);
    EXPECT_EQ(zgseg::deepest_point(cv::Mat::zeros(5, 5, CV_8U)), cv::Point(-1, -1));
    cv::Mat square(50, 80, CV_8U, cv::Scalar(1));  // image edge counts as border
    EXPECT_NEAR(zgseg::deepest_point(square).x, 40, 1);
    EXPECT_NEAR(zgseg::deepest_point(square).y, 25, 1);
}

TEST(Overlay, CaptionBoxesStayInsideTheImage) {
    for (const cv::Size size : {cv::Size(100, 100), cv::Size(500, 375), cv::Size(5000, 3000)}) {
        SCOPED_TRACE(size);
        cv::Mat labels(30, 40, CV_32S, cv::Scalar(0));
        labels(cv::Rect(0, 0, 2, 2)).setTo(1);      // tiny corner segment
        labels(cv::Rect(38, 28, 2, 2)).setTo(2);    // opposite corner
        const std::vector<OverlaySegment> segments = {
            {0, "background"},
            {1, "a very long caption that cannot possibly fit on a small image at all"},
            {2, "caf\xc3\xa9 cr\xc3\xa8me"},
            {3, "segment without pixels"}};
        const auto boxes = zgseg::overlay_label_boxes(size, labels, segments);
        ASSERT_EQ(boxes.size(), 3u);  // id 3 has no pixels
        for (const auto& b : boxes) {
            EXPECT_TRUE((b.box & cv::Rect(cv::Point(), size)) == b.box) << b.id << " " << b.box;
            EXPECT_FALSE(b.text.empty());
        }
        EXPECT_EQ(boxes[2].text, "cafe creme");
        const cv::Mat out = zgseg::render_overlay(cv::Mat(size, CV_8UC3, cv::Scalar(90, 120, 60)), labels, segments);
        EXPECT_EQ(out.size(), size);
    }
}

// Text height grows with the image: >= 7 px on a 100 px image, 2-5 % of the
// shorter side from 500 px up.
TEST(Overlay, FontScaleIsLegibleAcrossSizes) {
    for (int side : {100, 375, 1000, 5000}) {
        const double scale = zgseg::overlay_font_scale({side * 4 / 3, side});
        int baseline = 0;
        const int height = cv::getTextSize("H", cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline).height;
        std::cout << "  shorter side " << side << ": scale " << scale << ", cap height " << height << " px\n";
        EXPECT_GE(height, 7);
        if (side >= 375) {
            EXPECT_GE(height, 0.02 * side);
            EXPECT_LE(height, 0.05 * side);
        }
    }
}

// The legend draws a swatch of each colour unblended; with too many segments
// for the image it ends in "+N more" instead of spilling out.
TEST(Overlay, LegendShowsSwatches) {
    cv::Mat photo, labels;
    scene(photo, labels);
    zgseg::OverlayStyle legend_only;
    legend_only.draw_labels = false;
    const cv::Mat out = zgseg::render_overlay(photo, labels, {{1, "sky"}, {2, "grass"}}, legend_only);
    EXPECT_GT(pixels_equal(out, zgseg::voc_color(1)), 20);
    EXPECT_GT(pixels_equal(out, zgseg::voc_color(2)), 20);

    zgseg::OverlayStyle no_legend = legend_only;
    no_legend.draw_legend = false;
    EXPECT_EQ(pixels_equal(zgseg::render_overlay(photo, labels, {{1, "sky"}, {2, "grass"}}, no_legend),
                           zgseg::voc_color(1)),
              0);

    std::vector<OverlaySegment> many;
    cv::Mat ids(100, 100, CV_32S);
    for (int i = 0; i < 100 * 100; ++i) ids.at<int>(i / 100, i % 100) = (i / 100 / 4) * 25 + (i % 100) / 4;
    for (int id = 0; id < 625; ++id) many.push_back({id, "thing " + std::to_string(id)});
    const cv::Mat crowded = zgseg::render_overlay(cv::Mat(100, 100, CV_8UC3, cv::Scalar(0, 0, 0)), ids, many);
    EXPECT_EQ(crowded.size(), cv::Size(100, 100));
}

TEST(Overlay, JpegKeepsRgbOrderAndSize) {
    TempDir tmp;
    cv::Mat red(120, 160, CV_8UC3, cv::Scalar(220, 20, 20));  // R,G,B
    const fs::path path = tmp.path / "overlay.jpg";
    zgseg::write_overlay_jpeg(path, red, false);
    const zgseg::LoadedImage back = zgseg::load_image(path);
    ASSERT_EQ(back.rgb.size(), red.size());
    const cv::Vec3b p = back.rgb.at<cv::Vec3b>(60, 80);
    EXPECT_NEAR(p[0], 220, 3);
    EXPECT_NEAR(p[2], 20, 3);
    EXPECT_THROW(zgseg::write_overlay_jpeg(path, red, false), zgseg::Error);
}

TEST(AsciiForHershey, FoldsUnicodeSensibly) {
    EXPECT_EQ(zgseg::ascii_for_hershey("a dog on grass"), "a dog on grass");
    EXPECT_EQ(zgseg::ascii_for_hershey("caf\xc3\xa9 Stra\xc3\x9f" "e \xc3\x86sir"), "cafe Strasse AEsir");
    EXPECT_EQ(zgseg::ascii_for_hershey("\xc5\x81\xc3\xb3\x64\xc5\xba"), "Lodz");
    EXPECT_EQ(zgseg::ascii_for_hershey("\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x80\x94 it\xe2\x80\x99s\xe2\x80\xa6"),
              "\"quoted\" - it's...");
    EXPECT_EQ(zgseg::ascii_for_hershey("e\xcc\x81"), "e");            // decomposed accent
    EXPECT_EQ(zgseg::ascii_for_hershey("\xe7\x8c\xab cat"), "? cat");  // CJK
    EXPECT_EQ(zgseg::ascii_for_hershey("\xf0\x9f\x90\xb1"), "?");      // emoji: one '?', not four
    EXPECT_EQ(zgseg::ascii_for_hershey("bad\xff\xc3"), "bad??");       // invalid bytes
    EXPECT_EQ(zgseg::ascii_for_hershey("tab\there\nline"), "tab here line");
    EXPECT_EQ(zgseg::ascii_for_hershey("\xc0\xaf"), "??");             // overlong '/'
}
