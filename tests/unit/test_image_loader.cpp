// Image loading: every format and pixel layout against Pillow's decoding
// (fixtures from scripts/fixtures/images.py), EXIF orientation, downscaling
// while decoding, and every refusal with its message.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "io/area_downscaler.hpp"
#include "io/image_loader.hpp"
#include "io/orientation.hpp"
#include "unit/peak_memory.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;
using zgseg::ImageLoadLimits;
using zgseg::load_image;

namespace {

const fs::path kData = fs::path(ZGSEG_TEST_DATA) / "images";

nlohmann::json manifest() {
    std::ifstream in(kData / "manifest.json");
    return nlohmann::json::parse(in);
}

cv::Mat read_raw_rgb(const fs::path& path, int width, int height) {
    cv::Mat out(height, width, CV_8UC3);
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(out.data), static_cast<std::streamsize>(out.total() * 3));
    EXPECT_EQ(in.gcount(), static_cast<std::streamsize>(out.total() * 3)) << path;
    return out;
}

double max_abs_diff(const cv::Mat& a, const cv::Mat& b) {
    cv::Mat diff;
    cv::absdiff(a, b, diff);
    double d = 0;
    cv::minMaxLoc(diff.reshape(1), nullptr, &d);
    return d;
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("zgseg_img_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string load_error(const fs::path& path, const ImageLoadLimits& limits = {}) {
    try {
        load_image(path, limits);
    } catch (const zgseg::Error& e) {
        return e.what();
    }
    return "(no error)";
}

// A refusal names the file, says what is wrong, and fits on one line.
void expect_refused(const fs::path& path, const std::string& expected, const ImageLoadLimits& limits = {}) {
    const std::string message = load_error(path, limits);
    std::cout << "  " << path.filename().string() << " -> " << message << "\n";
    EXPECT_NE(message.find(expected), std::string::npos) << "message: " << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << "message must name the file: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
}

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

}  // namespace

// Every decodable fixture equals Pillow's RGB decoding (after exif_transpose),
// within the tolerance recorded per fixture (0 for lossless formats, 1 for
// JPEG: both sides run libjpeg-turbo's islow IDCT, 3 for lossy WebP).
TEST(ImageLoader, MatchesPillowForEveryFormat) {
    const nlohmann::json m = manifest();
    ASSERT_GE(m["images"].size(), 35u);
    for (const auto& [name, entry] : m["images"].items()) {
        SCOPED_TRACE(name);
        ImageLoadLimits limits;
        if (entry.contains("max_working_side")) limits.max_working_side = entry["max_working_side"];
        const zgseg::LoadedImage image = load_image(kData / entry["file"].get<std::string>(), limits);
        const int w = entry["width"], h = entry["height"];
        ASSERT_EQ(image.rgb.type(), CV_8UC3);
        ASSERT_EQ(image.rgb.size(), cv::Size(w, h));
        const cv::Mat expected = read_raw_rgb(kData / "expected" / (name + ".rgb"), w, h);
        const double diff = max_abs_diff(image.rgb, expected);
        std::cout << "  " << name << ": max abs diff " << diff << " (tolerance " << entry["tolerance"] << ")\n";
        EXPECT_LE(diff, entry["tolerance"].get<double>());
        EXPECT_EQ(zgseg::format_name(image.format), entry["format"].get<std::string>());
        EXPECT_EQ(image.orientation, entry.value("orientation", 1));
        const cv::Size original(entry.value("original_width", w), entry.value("original_height", h));
        EXPECT_EQ(image.original_size, original);
        EXPECT_EQ(image.downscaled, original != cv::Size(w, h));
    }
}

// The classic OpenCV mistake: B and R swapped. The top-left block is blue.
TEST(ImageLoader, ChannelOrderIsRgb) {
    for (const char* file : {"rgb.png", "lossless.webp", "rgb.bmp", "rgb.tif", "baseline.jpg"}) {
        SCOPED_TRACE(file);
        const cv::Mat rgb = load_image(kData / file).rgb;
        const cv::Vec3b corner = rgb.at<cv::Vec3b>(1, 1);
        EXPECT_NEAR(corner[0], 20, 4);
        EXPECT_NEAR(corner[2], 230, 4);
    }
}

// Orientation 6 means "rotate 90 degrees clockwise to view": stored 40x24 -> 24x40,
// and the blue block (stored top-left) ends up top-right.
TEST(ImageLoader, ExifOrientationSixRotatesClockwise) {
    for (const char* file : {"orient6.png", "orient6.jpg", "orient6.webp", "orient6.tif"}) {
        SCOPED_TRACE(file);
        const zgseg::LoadedImage image = load_image(kData / file);
        EXPECT_EQ(image.rgb.size(), cv::Size(24, 40));
        EXPECT_EQ(image.original_size, cv::Size(24, 40));
        EXPECT_EQ(image.orientation, 6);
        const cv::Vec3b top_right = image.rgb.at<cv::Vec3b>(1, 22);
        EXPECT_NEAR(top_right[2], 230, 6);
        EXPECT_NEAR(top_right[0], 20, 6);
    }
}

// Downscaling while decoding equals the definition (mean over the source
// pixels of each bin, rounded), for row-ordered and Adam7-interlaced PNGs,
// and stays close to OpenCV's INTER_AREA.
TEST(ImageLoader, DownscalesWhileDecodingByAreaAverage) {
    const nlohmann::json src = manifest()["downscale_source"];
    const int W = src["width"], H = src["height"];
    const cv::Mat raw = read_raw_rgb(kData / src["raw"].get<std::string>(), W, H);
    ImageLoadLimits limits;
    limits.max_working_side = 16;
    const cv::Size target = zgseg::fit_within({W, H}, 16);
    ASSERT_EQ(target, cv::Size(16, 11));  // 37·16/53 = 11.2

    cv::Mat expected(target, CV_8UC3);
    for (int by = 0; by < target.height; ++by)
        for (int bx = 0; bx < target.width; ++bx)
            for (int c = 0; c < 3; ++c) {
                long sum = 0, n = 0;
                for (int y = 0; y < H; ++y)
                    for (int x = 0; x < W; ++x)
                        if (y * target.height / H == by && x * target.width / W == bx) sum += raw.at<cv::Vec3b>(y, x)[c], ++n;
                expected.at<cv::Vec3b>(by, bx)[c] = static_cast<uchar>((sum + n / 2) / n);
            }
    cv::Mat area;
    cv::resize(raw, area, target, 0, 0, cv::INTER_AREA);
    for (const char* key : {"plain", "interlaced"}) {
        SCOPED_TRACE(key);
        const zgseg::LoadedImage image = load_image(kData / src[key].get<std::string>(), limits);
        EXPECT_TRUE(image.downscaled);
        EXPECT_EQ(image.original_size, cv::Size(W, H));
        ASSERT_EQ(image.rgb.size(), target);
        EXPECT_EQ(max_abs_diff(image.rgb, expected), 0);
        cv::Mat diff;
        cv::absdiff(image.rgb, area, diff);
        const double mean = cv::mean(diff.reshape(1))[0];
        std::cout << "  " << key << ": mean abs diff to cv INTER_AREA " << mean << "\n";
        EXPECT_LT(mean, 12.0);  // random pixels, bins differ by up to one source pixel
    }
}

TEST(ImageLoader, AspectRatioAtTheCapIsAccepted) {
    EXPECT_EQ(load_image(kData / "ratio4_160x40.png").rgb.size(), cv::Size(160, 40));
}

TEST(ImageLoader, RefusesBadInputsWithClearMessages) {
    TempDir tmp;
    expect_refused(kData / "no_such_file.jpg", "does not exist");
    expect_refused(kData, "is a directory");
    expect_refused(kData / "empty.png", "is empty (0 bytes)");
    expect_refused(kData / "text.jpg", "is a text file, not an image");
    expect_refused(kData / "binary.jpg", "is not an image zgseg can read");
    expect_refused(kData / "anim.gif", "is a GIF file, which zgseg does not read");
    expect_refused(kData / "truncated.jpg", "is truncated (the JPEG data ends before the last row)");
    expect_refused(kData / "truncated.png", "is truncated or corrupt (libpng:");
    expect_refused(kData / "tiny_10x12.png", "needs at least 16 pixels on the shorter side");
    expect_refused(kData / "wide_3000x3.png", "a side ratio of 1000:1; zgseg accepts at most 4:1");
    expect_refused(kData / "ratio5_200x40.png", "a side ratio of 5:1");

    ImageLoadLimits small_whole;
    small_whole.max_whole_decode_pixels = 100;
    expect_refused(kData / "rgb.tif", "decodes TIFF files whole", small_whole);

    // Cut near the end (entropy data missing) and a progressive file cut between scans.
    const std::string baseline = read_bytes(kData / "baseline.jpg"), progressive = read_bytes(kData / "progressive.jpg");
    write_bytes(tmp.path / "cut_near_end.jpg", baseline.substr(0, baseline.size() - 40));
    expect_refused(tmp.path / "cut_near_end.jpg", "is truncated");
    write_bytes(tmp.path / "cut_progressive.jpg", progressive.substr(0, progressive.size() * 7 / 10));
    expect_refused(tmp.path / "cut_progressive.jpg", "is truncated");
    write_bytes(tmp.path / "cut_in_header.jpg", baseline.substr(0, 100));
    expect_refused(tmp.path / "cut_in_header.jpg", "truncated");

    // A .png whose bytes are a JPEG is decoded as what it is.
    fs::copy_file(kData / "baseline.jpg", tmp.path / "really_a_jpeg.png");
    EXPECT_EQ(load_image(tmp.path / "really_a_jpeg.png").format, zgseg::ImageFormat::Jpeg);
}

// Root reads any file through CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: drop
// them from the effective set for the duration of the check.
class WithoutFileReadOverride {
public:
    WithoutFileReadOverride() {
        if (::geteuid() != 0) return;
        if (::syscall(SYS_capget, &header_, saved_) != 0) return;
        __user_cap_data_struct reduced[2] = {saved_[0], saved_[1]};
        reduced[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
        active_ = ::syscall(SYS_capset, &header_, reduced) == 0;
    }
    ~WithoutFileReadOverride() {
        if (active_) ::syscall(SYS_capset, &header_, saved_);
    }
    bool usable() const { return ::geteuid() != 0 || active_; }

private:
    __user_cap_header_struct header_{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct saved_[2] = {};
    bool active_ = false;
};

TEST(ImageLoader, RefusesUnreadableFile) {
    TempDir tmp;
    const fs::path locked = tmp.path / "locked.png";
    fs::copy_file(kData / "rgb.png", locked);
    ::chmod(locked.c_str(), 0);
    const WithoutFileReadOverride guard;
    if (!guard.usable()) GTEST_SKIP() << "running as root and cannot drop CAP_DAC_OVERRIDE";
    expect_refused(locked, "cannot read image file " + locked.string() + ": Permission denied; check its permissions");
}

// A header claiming 60000x60000 is refused from the header alone: no
// allocation of that size happens (peak memory stays put), and it is fast.
TEST(ImageLoader, RefusesAbsurdHeaderBeforeAllocating) {
    TempDir tmp;
    const fs::path png = tmp.path / "huge_header.png";
    const std::string ihdr = "IHDR" + be32(60000) + be32(60000) + std::string("\x08\x02\x00\x00\x00", 5);
    write_bytes(png, std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + ihdr + be32(0) + be32(0) + "IDAT" + be32(0));
    const fs::path jpg = tmp.path / "huge_header.jpg";
    write_bytes(jpg, std::string("\xff\xd8\xff\xc0\x00\x11\x08\xfd\xe8\xfd\xe8\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
                                 "\xff\xda",
                                 23));
    zgseg::test::reset_peak_rss();
    const std::size_t before = zgseg::test::peak_rss_bytes();
    expect_refused(png, "claims 60000x60000 pixels (3600 MP), more than the 500 MP zgseg accepts");
    expect_refused(jpg, "claims 65000x65000 pixels");
    const std::size_t growth = zgseg::test::peak_rss_bytes() - before;
    std::cout << "  peak RSS growth " << growth / 1024 << " KiB\n";
    EXPECT_LT(growth, std::size_t{8} << 20);
}

// Progressive JPEG keeps whole-image coefficient buffers: libjpeg's own
// memory cap turns an over-budget file into a clear refusal.
TEST(ImageLoader, ProgressiveJpegMemoryCap) {
    TempDir tmp;
    cv::Mat pattern(1024, 1024, CV_8UC3);
    cv::randu(pattern, 0, 255);
    std::vector<uchar> bytes;
    ASSERT_TRUE(cv::imencode(".jpg", pattern, bytes, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
    const fs::path path = tmp.path / "progressive_1024.jpg";
    write_bytes(path, std::string(bytes.begin(), bytes.end()));
    ImageLoadLimits tight;
    tight.max_jpeg_decoder_bytes = std::size_t{1} << 20;
    expect_refused(path, "needs more than 1 MiB to decode (a progressive JPEG of 1024x1024)", tight);
    EXPECT_EQ(load_image(path).rgb.size(), cv::Size(1024, 1024));
}

TEST(Orientation, AllEightMatchPillowOnPng) {
    // Covered pixel-exactly by MatchesPillowForEveryFormat (png_orient1..8);
    // here the size swap rule alone.
    for (int k = 1; k <= 8; ++k) {
        const zgseg::LoadedImage image = load_image(kData / ("orient" + std::to_string(k) + ".png"));
        EXPECT_EQ(image.rgb.size(), k >= 5 ? cv::Size(24, 40) : cv::Size(40, 24)) << k;
    }
}

TEST(Orientation, ExifParserRejectsGarbage) {
    const std::uint8_t junk[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 0xff, 0xff, 0xff, 0x7f};
    EXPECT_EQ(zgseg::exif_orientation(junk, sizeof junk), 1);
    EXPECT_EQ(zgseg::exif_orientation(junk, 3), 1);
}

TEST(AreaDownscaler, FitWithinKeepsAspectAndNeverEnlarges) {
    EXPECT_EQ(zgseg::fit_within({20000, 20000}, 4096), cv::Size(4096, 4096));
    EXPECT_EQ(zgseg::fit_within({20000, 5000}, 4096), cv::Size(4096, 1024));
    EXPECT_EQ(zgseg::fit_within({500, 375}, 4096), cv::Size(500, 375));
    EXPECT_EQ(zgseg::fit_within({30000, 3}, 4096), cv::Size(4096, 1));
}
