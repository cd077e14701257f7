#include "io/rle.hpp"

#include <algorithm>

#include "zgseg/error.hpp"

namespace zgseg {

CocoRle rle_encode(const cv::Mat& mask) {
    if (mask.dims != 2 || mask.channels() != 1)
        throw Error("rle_encode: the mask must be a single-channel 2-D array");
    cv::Mat binary;
    cv::compare(mask, 0, binary, cv::CMP_NE);  // 0 / 255, CV_8U
    CocoRle rle;
    rle.height = binary.rows;
    rle.width = binary.cols;
    std::uint8_t previous = 0;
    std::uint32_t run = 0;
    for (int x = 0; x < binary.cols; ++x) {
        for (int y = 0; y < binary.rows; ++y) {
            const std::uint8_t value = binary.at<std::uint8_t>(y, x) != 0;
            if (value != previous) {
                rle.counts.push_back(run);
                run = 0;
                previous = value;
            }
            ++run;
        }
    }
    rle.counts.push_back(run);
    return rle;
}

cv::Mat rle_decode(const CocoRle& rle) {
    std::uint64_t total = 0;
    for (std::uint32_t c : rle.counts) total += c;
    const std::uint64_t expected = static_cast<std::uint64_t>(rle.height) * static_cast<std::uint64_t>(rle.width);
    if (rle.height < 0 || rle.width < 0 || total != expected)
        throw Error("RLE counts sum to " + std::to_string(total) + " but the mask is " + std::to_string(rle.height) +
                    "x" + std::to_string(rle.width) + " = " + std::to_string(expected) + " pixels");
    cv::Mat mask(rle.height, rle.width, CV_8U, cv::Scalar(0));
    std::uint64_t position = 0;  // column-major index
    std::uint8_t value = 0;
    for (std::uint32_t count : rle.counts) {
        if (value != 0) {
            for (std::uint64_t i = position; i < position + count; ++i)
                mask.at<std::uint8_t>(static_cast<int>(i % rle.height), static_cast<int>(i / rle.height)) = 1;
        }
        position += count;
        value ^= 1;
    }
    return mask;
}

std::string rle_counts_to_string(const std::vector<std::uint32_t>& counts) {
    std::string out;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        std::int64_t x = counts[i];
        if (i > 2) x -= counts[i - 2];  // pycocotools starts the deltas at index 3
        bool more = true;
        while (more) {
            int group = static_cast<int>(x & 0x1f);
            x >>= 5;  // arithmetic shift: negative deltas end in all-ones
            more = (group & 0x10) ? x != -1 : x != 0;
            if (more) group |= 0x20;
            out.push_back(static_cast<char>(group + 48));
        }
    }
    return out;
}

std::vector<std::uint32_t> rle_counts_from_string(std::string_view text) {
    std::vector<std::uint32_t> counts;
    std::size_t p = 0;
    while (p < text.size()) {
        std::int64_t x = 0;
        int shift = 0;
        bool more = true;
        while (more) {
            if (p >= text.size()) throw Error("RLE string ends in the middle of a number");
            const int c = static_cast<unsigned char>(text[p]) - 48;
            if (c < 0 || c > 63) throw Error("RLE string has a character outside '0'..'o' at position " + std::to_string(p));
            if (shift > 55) throw Error("RLE string has a number too long at position " + std::to_string(p));
            x |= static_cast<std::int64_t>(c & 0x1f) << shift;
            more = (c & 0x20) != 0;
            ++p;
            shift += 5;
            if (!more && (c & 0x10)) x |= -(std::int64_t{1} << shift);  // sign-extend
        }
        if (counts.size() > 2) x += counts[counts.size() - 2];
        counts.push_back(static_cast<std::uint32_t>(x));
    }
    return counts;
}

std::uint64_t rle_area(const CocoRle& rle) {
    std::uint64_t area = 0;
    for (std::size_t j = 1; j < rle.counts.size(); j += 2) area += rle.counts[j];
    return area;
}

std::array<double, 4> rle_bbox(const CocoRle& rle) {
    const std::uint64_t h = static_cast<std::uint64_t>(rle.height);
    std::uint64_t x_min = UINT64_MAX, y_min = UINT64_MAX, x_max = 0, y_max = 0;
    std::uint64_t position = 0;
    bool any = false;
    for (std::size_t j = 0; j < rle.counts.size(); ++j) {
        const std::uint64_t count = rle.counts[j];
        if (j % 2 == 1 && count > 0 && h > 0) {
            const std::uint64_t first = position, last = position + count - 1;
            const std::uint64_t x0 = first / h, x1 = last / h;
            any = true;
            x_min = std::min(x_min, x0);
            x_max = std::max(x_max, x1);
            if (x1 > x0) {  // the run wraps into the next column: it covers rows 0 and h-1
                y_min = 0;
                y_max = h - 1;
            } else {
                y_min = std::min(y_min, first % h);
                y_max = std::max(y_max, last % h);
            }
        }
        position += count;
    }
    if (!any) return {0, 0, 0, 0};
    return {static_cast<double>(x_min), static_cast<double>(y_min), static_cast<double>(x_max - x_min + 1),
            static_cast<double>(y_max - y_min + 1)};
}

}  // namespace zgseg
