// COCO RLE against pycocotools 2.0.11 (fixtures from scripts/fixtures/rle.py):
// run counts, the compressed string, decoding, area and bounding box — all
// exact — on masks covering every edge case of the format.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/label_png.hpp"
#include "io/rle.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(ZGSEG_TEST_DATA) / "rle";

nlohmann::json cases() {
    std::ifstream in(kData / "cases.json");
    return nlohmann::json::parse(in);
}

}  // namespace

TEST(CocoRle, EncodeMatchesPycocotools) {
    const nlohmann::json all = cases();
    ASSERT_GE(all.size(), 13u);
    for (const auto& c : all) {
        SCOPED_TRACE(c["name"].get<std::string>());
        const cv::Mat mask = zgseg::read_label_png(kData / c["file"].get<std::string>());
        ASSERT_EQ(mask.size(), cv::Size(c["width"], c["height"]));
        const zgseg::CocoRle rle = zgseg::rle_encode(mask);
        EXPECT_EQ(rle.height, c["height"].get<int>());
        EXPECT_EQ(rle.width, c["width"].get<int>());
        EXPECT_EQ(rle.counts, c["counts"].get<std::vector<std::uint32_t>>());
        EXPECT_EQ(zgseg::rle_counts_to_string(rle.counts), c["string"].get<std::string>());
        EXPECT_EQ(zgseg::rle_area(rle), c["area"].get<std::uint64_t>());
        const auto bbox = zgseg::rle_bbox(rle);
        const auto expected = c["bbox"].get<std::vector<double>>();
        for (int i = 0; i < 4; ++i) EXPECT_EQ(bbox[i], expected[i]) << "bbox[" << i << "]";
    }
}

TEST(CocoRle, DecodeStringRoundTrips) {
    for (const auto& c : cases()) {
        SCOPED_TRACE(c["name"].get<std::string>());
        const cv::Mat mask = zgseg::read_label_png(kData / c["file"].get<std::string>());
        zgseg::CocoRle rle;
        rle.height = c["height"];
        rle.width = c["width"];
        rle.counts = zgseg::rle_counts_from_string(c["string"].get<std::string>());
        EXPECT_EQ(rle.counts, c["counts"].get<std::vector<std::uint32_t>>());
        const cv::Mat decoded = zgseg::rle_decode(rle);
        cv::Mat expected;
        mask.convertTo(expected, CV_8U);
        EXPECT_EQ(cv::countNonZero(decoded != expected), 0);
    }
}

// Any non-zero value counts as inside, whatever the mask type.
TEST(CocoRle, NonBinaryMasks) {
    cv::Mat ids = (cv::Mat_<int>(2, 3) << 0, 7, 0, -1, 0, 0);
    const zgseg::CocoRle rle = zgseg::rle_encode(ids);
    EXPECT_EQ(rle.counts, (std::vector<std::uint32_t>{1, 2, 3}));  // column-major: 0,-1 | 7,0 | 0,0
}

TEST(CocoRle, RejectsMalformedInput) {
    EXPECT_THROW(zgseg::rle_counts_from_string("0S1\x7f"), zgseg::Error);
    EXPECT_THROW(zgseg::rle_counts_from_string("Z"), zgseg::Error);  // continuation bit set, nothing follows
    zgseg::CocoRle short_counts;
    short_counts.height = 3;
    short_counts.width = 3;
    short_counts.counts = {4, 2};
    EXPECT_THROW(zgseg::rle_decode(short_counts), zgseg::Error);
}
