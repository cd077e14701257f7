// COCO run-length encoding of binary masks, bit-compatible with pycocotools
// (mask.encode / decode / area / toBbox): runs are counted over the mask in
// column-major (Fortran) order, always starting with a run of zeros (possibly
// empty), and the "compressed RLE" string stores each count — from the fourth
// on, as the difference to the count two places before — in 5-bit groups,
// low group first, one ASCII character (48 + 6 bits) per group with 0x20 as
// the continuation flag and 0x10 as the sign of the last group.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

namespace zgseg {

struct CocoRle {
    int height = 0;
    int width = 0;
    std::vector<std::uint32_t> counts;  // alternating zero/one runs, column-major
};

// mask: H×W, CV_8U (non-zero = inside) or CV_32S/CV_16U/CV_8S compared with 0.
CocoRle rle_encode(const cv::Mat& mask);
// -> H×W CV_8U with values 0/1. Throws zgseg::Error if the counts do not sum to H·W.
cv::Mat rle_decode(const CocoRle& rle);

// pycocotools rleToString / rleFrString.
std::string rle_counts_to_string(const std::vector<std::uint32_t>& counts);
// Throws zgseg::Error on characters outside '0'..'o' or a string that ends mid-number.
std::vector<std::uint32_t> rle_counts_from_string(std::string_view text);

std::uint64_t rle_area(const CocoRle& rle);
// [x, y, width, height] of the smallest box holding every 1; all zeros for an empty mask.
std::array<double, 4> rle_bbox(const CocoRle& rle);

}  // namespace zgseg
