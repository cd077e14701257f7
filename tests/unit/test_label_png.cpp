// Label-map PNGs: the VOC palette, reading ground truth as raw indices
// (compared with Pillow), writing 8-bit palette and 16-bit gray maps,
// nearest upsampling compared with torch.nn.functional.interpolate, and
// atomic, no-overwrite writing. Fixtures from scripts/fixtures/label_png.py.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/image_loader.hpp"
#include "io/label_png.hpp"
#include "io/palette.hpp"
#include "error_of.hpp"
#include "zgseg/error.hpp"

using zgseg::testing::error_of;

namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(ZGSEG_TEST_DATA) / "label_png";

nlohmann::json cases() {
    std::ifstream in(kData / "cases.json");
    return nlohmann::json::parse(in);
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("zgseg_lbl_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(VocPalette, KnownEntries) {
    EXPECT_EQ(zgseg::voc_color(0), (zgseg::Rgb{0, 0, 0}));
    EXPECT_EQ(zgseg::voc_color(1), (zgseg::Rgb{128, 0, 0}));      // aeroplane
    EXPECT_EQ(zgseg::voc_color(15), (zgseg::Rgb{192, 128, 128}));  // person
    EXPECT_EQ(zgseg::voc_color(20), (zgseg::Rgb{0, 64, 128}));     // tv/monitor
    EXPECT_EQ(zgseg::voc_color(255), (zgseg::Rgb{224, 224, 192}));  // ignore
}

// All 256 entries equal the palette stored in a real VOC-format mask.
TEST(VocPalette, EqualsPaletteOfVocGroundTruth) {
    const auto palette = cases()["voc"]["palette"].get<std::vector<int>>();
    ASSERT_EQ(palette.size(), 768u);
    for (int i = 0; i < 256; ++i) {
        const zgseg::Rgb c = zgseg::voc_palette()[i];
        EXPECT_EQ((std::vector<int>{c[0], c[1], c[2]}), (std::vector<int>(palette.begin() + 3 * i, palette.begin() + 3 * i + 3)))
            << "entry " << i;
    }
}

// Larger ids keep distinct colours (the overlay can show > 256 segments).
TEST(VocPalette, DistinctBeyond256) {
    std::set<std::array<std::uint8_t, 3>> seen;
    for (std::uint32_t id = 0; id < 4096; ++id) seen.insert(zgseg::voc_color(id));
    EXPECT_EQ(seen.size(), 4096u);
}

TEST(LabelPng, ReadsVocGroundTruthAsIndicesNotColours) {
    const nlohmann::json voc = cases()["voc"];
    const cv::Mat labels = zgseg::read_label_png(kData / voc["file"].get<std::string>());
    const cv::Mat expected = zgseg::read_label_png(kData / voc["indices"].get<std::string>());
    ASSERT_EQ(labels.type(), CV_32S);
    ASSERT_EQ(labels.size(), cv::Size(voc["width"], voc["height"]));
    EXPECT_EQ(cv::countNonZero(labels != expected), 0);
    std::set<int> values(labels.begin<int>(), labels.end<int>());
    EXPECT_EQ(std::vector<int>(values.begin(), values.end()), voc["values"].get<std::vector<int>>());  // 0 5 15 255
}

TEST(LabelPng, ReadsGrayAndLowBitDepthPalette) {
    const nlohmann::json all = cases();
    for (const char* name : {"gray8", "gray16", "palette4"}) {
        SCOPED_TRACE(name);
        const cv::Mat labels = zgseg::read_label_png(kData / all[name]["file"].get<std::string>());
        ASSERT_EQ(labels.size(), cv::Size(all[name]["width"], all[name]["height"]));
        const auto values = all[name]["values"].get<std::vector<int>>();
        EXPECT_EQ(std::vector<int>(labels.begin<int>(), labels.end<int>()), values);
    }
}

TEST(LabelPng, RefusesColourPngAndMissingFile) {
    const std::string rgb = error_of([] { zgseg::read_label_png(kData / "rgb.png"); });
    EXPECT_NE(rgb.find("is a colour (RGB/RGBA/gray+alpha) PNG"), std::string::npos) << rgb;
    const std::string missing = error_of([] { zgseg::read_label_png(kData / "nope.png"); });
    EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;
}

// Nearest upsampling at write time equals torch's mode="nearest".
TEST(LabelPng, NearestUpsamplingMatchesTorch) {
    TempDir tmp;
    const nlohmann::json all = cases()["nearest"];
    ASSERT_EQ(all.size(), 3u);
    for (const auto& c : all) {
        SCOPED_TRACE(c["input"].get<std::string>());
        const cv::Mat input = zgseg::read_label_png(kData / c["input"].get<std::string>());
        const cv::Mat expected = zgseg::read_label_png(kData / c["expected"].get<std::string>());
        const fs::path out = tmp.path / c["expected"].get<std::string>();
        zgseg::write_label_png(out, input, cv::Size(c["width"], c["height"]), false);
        const cv::Mat written = zgseg::read_label_png(out);
        ASSERT_EQ(written.size(), expected.size());
        const int mismatches = cv::countNonZero(written != expected);
        std::cout << "  pixels differing from torch nearest: " << mismatches << "\n";
        EXPECT_EQ(mismatches, 0);
    }
}

// ids <= 255: 8-bit palette PNG (colour type 3) whose colours are the VOC map;
// larger ids: 16-bit grayscale (colour type 0). Both read back exactly.
TEST(LabelPng, WritesPaletteOrSixteenBitAndReadsBack) {
    TempDir tmp;
    cv::Mat small(5, 7, CV_32S), large(5, 7, CV_32S);
    for (int i = 0; i < 35; ++i) {
        small.at<int>(i / 7, i % 7) = (i * 37) % 256;
        large.at<int>(i / 7, i % 7) = i * 1000 + 7;
    }
    zgseg::write_label_png(tmp.path / "small.png", small, false);
    zgseg::write_label_png(tmp.path / "large.png", large, false);
    const std::string small_bytes = read_bytes(tmp.path / "small.png"), large_bytes = read_bytes(tmp.path / "large.png");
    EXPECT_EQ(small_bytes[24], 8);   // IHDR bit depth
    EXPECT_EQ(small_bytes[25], 3);   // colour type: palette
    EXPECT_EQ(large_bytes[24], 16);
    EXPECT_EQ(large_bytes[25], 0);   // colour type: gray
    EXPECT_EQ(cv::countNonZero(zgseg::read_label_png(tmp.path / "small.png") != small), 0);
    EXPECT_EQ(cv::countNonZero(zgseg::read_label_png(tmp.path / "large.png") != large), 0);

    // Decoded as a picture (libpng's palette expansion), each pixel shows its VOC colour.
    zgseg::ImageLoadLimits limits;
    limits.min_side = 1;
    const cv::Mat shown = zgseg::load_image(tmp.path / "small.png", limits).rgb;
    for (int i = 0; i < 35; ++i) {
        const zgseg::Rgb c = zgseg::voc_color(static_cast<std::uint32_t>(small.at<int>(i / 7, i % 7)));
        EXPECT_EQ(shown.at<cv::Vec3b>(i / 7, i % 7), cv::Vec3b(c[0], c[1], c[2]));
    }
}

TEST(LabelPng, RefusesBadIdsAndExistingFile) {
    TempDir tmp;
    cv::Mat negative = cv::Mat::zeros(3, 3, CV_32S);
    negative.at<int>(1, 1) = -1;
    const std::string bad = error_of([&] { zgseg::write_label_png(tmp.path / "neg.png", negative, false); });
    EXPECT_NE(bad.find("label ids must be in 0..65535, got -1..0"), std::string::npos) << bad;
    EXPECT_FALSE(fs::exists(tmp.path / "neg.png"));

    const cv::Mat ones = cv::Mat::ones(3, 3, CV_32S);
    zgseg::write_label_png(tmp.path / "a.png", ones, false);
    const std::string exists = error_of([&] { zgseg::write_label_png(tmp.path / "a.png", ones, false); });
    EXPECT_NE(exists.find("already exists; pass --overwrite"), std::string::npos) << exists;
    zgseg::write_label_png(tmp.path / "a.png", ones * 2, true);
    EXPECT_EQ(zgseg::read_label_png(tmp.path / "a.png").at<int>(0, 0), 2);
    // Nothing but the file itself is left in the folder.
    EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path), fs::directory_iterator()), 1);
}
