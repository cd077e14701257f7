// PIL-exact resizing: byte-for-byte equal to Pillow's LANCZOS and BICUBIC on
// the VOC photos (downscaling, squashing, upscaling).
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "io/resample.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(ResampleLikePil, MatchesPillowExactly) {
    const fs::path data = fs::path(ZGSEG_TEST_DATA);
    std::ifstream in(data / "resample" / "cases.json");
    const auto cases = nlohmann::json::parse(in)["cases"];
    ASSERT_GE(cases.size(), 4u);
    for (const auto& c : cases) {
        const std::string source = c["source"];
        std::vector<uint8_t> rgb;
        if (source.size() > 4 && source.substr(source.size() - 4) == ".rgb") {
            rgb = read_bytes(data / "resample" / source);
        } else {
            // Decoded by OpenCV's libjpeg here and by Pillow's in the generator: both
            // use libjpeg's default (islow) IDCT, so the decoded pixels agree.
            cv::Mat bgr = cv::imread((data / "voc-sample" / "JPEGImages" / source).string(), cv::IMREAD_COLOR);
            cv::Mat m;
            cv::cvtColor(bgr, m, cv::COLOR_BGR2RGB);
            rgb.assign(m.data, m.data + m.total() * 3);
        }
        const int sw = c["source_width"], sh = c["source_height"], w = c["width"], h = c["height"];
        ASSERT_EQ(rgb.size(), static_cast<size_t>(sw) * sh * 3) << source;
        const auto filter = c["filter"] == "lanczos" ? zgseg::ResampleFilter::Lanczos : zgseg::ResampleFilter::Bicubic;
        const auto got = zgseg::resize_like_pil(rgb.data(), sw, sh, w, h, filter);
        const auto want = read_bytes(data / "resample" / c["file"].get<std::string>());
        ASSERT_EQ(got.size(), want.size());
        int max_diff = 0;
        size_t differing = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            const int d = std::abs(int(got[i]) - int(want[i]));
            max_diff = std::max(max_diff, d);
            differing += d != 0;
        }
        std::cout << c["file"].get<std::string>() << ": max abs diff " << max_diff << " (" << differing
                  << " of " << got.size() << " bytes differ)\n";
        EXPECT_EQ(max_diff, 0) << c["file"];
    }
}

TEST(ResampleLikePil, IdentityKeepsPixels) {
    std::vector<uint8_t> rgb(7 * 5 * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 37);
    EXPECT_EQ(zgseg::resize_like_pil(rgb.data(), 7, 5, 7, 5, zgseg::ResampleFilter::Lanczos), rgb);
}

TEST(ResampleLikePil, ConstantStaysConstant) {
    std::vector<uint8_t> rgb(40 * 30 * 3, 123);
    for (auto f : {zgseg::ResampleFilter::Lanczos, zgseg::ResampleFilter::Bicubic})
        for (auto v : zgseg::resize_like_pil(rgb.data(), 40, 30, 13, 71, f)) ASSERT_EQ(v, 123);
}
