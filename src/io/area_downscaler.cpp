#include "io/area_downscaler.hpp"

#include <algorithm>
#include <cmath>

#include "zgseg/error.hpp"

namespace zgseg {

cv::Size fit_within(cv::Size source, int max_side) {
    const int longer = std::max(source.width, source.height);
    if (longer <= max_side) return source;
    const double scale = static_cast<double>(max_side) / longer;
    auto side = [&](int n) { return std::max(1, static_cast<int>(std::lround(n * scale))); };
    return {std::min(side(source.width), max_side), std::min(side(source.height), max_side)};
}

namespace {
// bin[i] = i * to / from; count[b] = how many i fall in bin b.
void make_bins(int from, int to, std::vector<int>& bin, std::vector<std::uint32_t>& count) {
    bin.resize(static_cast<std::size_t>(from));
    count.assign(static_cast<std::size_t>(to), 0);
    for (int i = 0; i < from; ++i) {
        bin[i] = static_cast<int>(static_cast<std::int64_t>(i) * to / from);
        ++count[bin[i]];
    }
}
}  // namespace

AreaDownscaler::AreaDownscaler(cv::Size source, cv::Size target, bool rows_in_order)
    : source_(source), target_(target), identity_(source == target), banded_(rows_in_order) {
    if (target.width < 1 || target.height < 1 || target.width > source.width || target.height > source.height)
        throw Error("internal: AreaDownscaler cannot map " + std::to_string(source.width) + "x" +
                    std::to_string(source.height) + " to " + std::to_string(target.width) + "x" +
                    std::to_string(target.height));
    result_.create(target.height, target.width, CV_8UC3);
    if (identity_) return;
    make_bins(source.width, target.width, column_bin_, column_count_);
    make_bins(source.height, target.height, row_bin_, row_count_);
    const std::uint64_t largest_bin = std::uint64_t{*std::max_element(column_count_.begin(), column_count_.end())} *
                                      *std::max_element(row_count_.begin(), row_count_.end());
    if (largest_bin * 255 > UINT32_MAX)
        throw Error("internal: AreaDownscaler target " + std::to_string(target.width) + "x" +
                    std::to_string(target.height) + " is too small for its source (raise the working size)");
    const std::size_t rows = banded_ ? 1 : static_cast<std::size_t>(target.height);
    sums_.assign(rows * static_cast<std::size_t>(target.width) * 3, 0);
}

void AreaDownscaler::add_pixels(int y, int x0, int step, int count, const std::uint8_t* rgb) {
    if (identity_) {
        std::uint8_t* row = result_.ptr<std::uint8_t>(y);
        for (int i = 0, x = x0; i < count; ++i, x += step) std::copy_n(rgb + 3 * i, 3, row + 3 * x);
        return;
    }
    const int target_row = row_bin_[y];
    std::uint32_t* sums = sums_.data();
    if (banded_) {
        if (target_row != band_row_) {
            if (band_row_ >= 0) flush_band();
            band_row_ = target_row;
        }
    } else {
        sums += static_cast<std::size_t>(target_row) * target_.width * 3;
    }
    for (int i = 0, x = x0; i < count; ++i, x += step) {
        std::uint32_t* cell = sums + 3 * column_bin_[x];
        cell[0] += rgb[3 * i];
        cell[1] += rgb[3 * i + 1];
        cell[2] += rgb[3 * i + 2];
    }
}

void AreaDownscaler::flush_band() {
    std::uint8_t* out = result_.ptr<std::uint8_t>(band_row_);
    for (int bx = 0; bx < target_.width; ++bx) {
        const std::uint32_t n = column_count_[bx] * row_count_[band_row_];
        for (int c = 0; c < 3; ++c) {
            std::uint32_t& sum = sums_[3 * bx + c];
            out[3 * bx + c] = static_cast<std::uint8_t>((sum + n / 2) / n);
            sum = 0;
        }
    }
}

cv::Mat AreaDownscaler::finish() {
    if (identity_) return result_;
    if (banded_) {
        if (band_row_ >= 0) flush_band();
        return result_;
    }
    for (int by = 0; by < target_.height; ++by) {
        std::uint8_t* out = result_.ptr<std::uint8_t>(by);
        const std::uint32_t* sums = sums_.data() + static_cast<std::size_t>(by) * target_.width * 3;
        for (int bx = 0; bx < target_.width; ++bx) {
            const std::uint32_t n = column_count_[bx] * row_count_[by];
            for (int c = 0; c < 3; ++c) out[3 * bx + c] = static_cast<std::uint8_t>((sums[3 * bx + c] + n / 2) / n);
        }
    }
    return result_;
}

}  // namespace zgseg
