// Area-average (box filter) downscaling fed pixel row by pixel row, so that a
// decoder can shrink a huge image while it decodes, holding only the small
// result plus one row of sums (or, for out-of-order input such as Adam7
// interlaced PNG passes, one set of sums for the whole small image).
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

namespace zgseg {

// Working size: `source` scaled so that its longer side is at most
// `max_side` (aspect kept, each side rounded, at least 1). Never enlarges.
cv::Size fit_within(cv::Size source, int max_side);

class AreaDownscaler {
public:
    // source >= target in both sides. rows_in_order: every source row arrives
    // complete and in increasing order (then only one target row of sums is kept).
    AreaDownscaler(cv::Size source, cv::Size target, bool rows_in_order);

    // Adds `count` RGB pixels of source row `y`, pixel i at column x0 + i*step.
    void add_pixels(int y, int x0, int step, int count, const std::uint8_t* rgb);
    void add_row(int y, const std::uint8_t* rgb) { add_pixels(y, 0, 1, source_.width, rgb); }

    // The target image, CV_8UC3: each pixel is the rounded mean of the source
    // pixels whose (column * target.width / source.width, row * ...) maps to it.
    cv::Mat finish();

private:
    void flush_band();

    cv::Size source_, target_;
    bool identity_, banded_;
    std::vector<int> column_bin_, row_bin_;
    std::vector<std::uint32_t> column_count_, row_count_;
    std::vector<std::uint32_t> sums_;  // (band ? 1 : target rows) × target cols × 3
    int band_row_ = -1;
    cv::Mat result_;
};

}  // namespace zgseg
