// COCO RLE: the compressed counts string (rleFrString) and decode on
// arbitrary bytes; encode -> string -> parse -> decode must give the mask back.
// First byte: mode; next two: height and width (1..64).
#include "fuzz.hpp"
#include "io/rle.hpp"

using namespace zgseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    const int h = 1 + data[1] % 64, w = 1 + data[2] % 64;
    const uint8_t* rest = data + 3;
    const size_t n = size - 3;
    if (data[0] & 1) {  // a counts string as found in a file
        fuzz::expect_errors([&] {
            CocoRle rle{h, w, rle_counts_from_string(fuzz::as_text(rest, n))};
            (void)rle_area(rle);
            (void)rle_bbox(rle);
            const cv::Mat mask = rle_decode(rle);
            if (mask.rows != h || mask.cols != w || cv::countNonZero(rle_decode(rle_encode(mask)) != mask) != 0 ||
                rle_area(rle) != static_cast<uint64_t>(cv::countNonZero(mask)))
                std::abort();
        });
    } else {  // a mask: one bit per pixel, round trip
        cv::Mat mask(h, w, CV_8U);
        for (int i = 0; i < h * w; ++i)
            mask.data[i] = static_cast<size_t>(i / 8) < n ? (rest[i / 8] >> (i % 8)) & 1 : 0;
        const CocoRle rle = rle_encode(mask);
        const CocoRle back{h, w, rle_counts_from_string(rle_counts_to_string(rle.counts))};
        if (back.counts != rle.counts || cv::countNonZero(rle_decode(back) != mask) != 0 ||
            rle_area(back) != static_cast<uint64_t>(cv::countNonZero(mask)))
            std::abort();
    }
    return 0;
}
