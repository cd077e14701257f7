// The decoders behind load_image. Each returns the image as stored (before
// EXIF orientation), converted to 8-bit RGB — grayscale and palette expanded,
// 16-bit scaled by v·255/65535 rounded, alpha composited on white — and
// area-downscaled to `target` (≤ the stored size) while decoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include <opencv2/core.hpp>

#include "io/image_header.hpp"

struct png_struct_def;  // libpng's png_struct

namespace zgseg {

// libpng, row by row: memory is one decoded row plus the target image (plus
// one target-sized set of sums for interlaced files), whatever the source size.
cv::Mat decode_png(const std::filesystem::path& path, const ImageHeader& header, cv::Size target);

// libjpeg, row by row, with DCT-domain scaling by 1/2, 1/4 or 1/8 first when
// the target allows it. CMYK/YCCK converted (inverted when an Adobe marker
// says so). A file that ends before the last scan line is refused.
// max_decoder_bytes caps libjpeg's whole-image buffers (progressive files).
cv::Mat decode_jpeg(const std::filesystem::path& path, const ImageHeader& header, cv::Size target,
                    std::size_t max_decoder_bytes);

// libpng (1.6.39) allocates an eXIf chunk's claimed length before reading
// it, unchecked: a 129-byte file made it allocate 1.9 GB (found by
// tests/fuzz/image.cpp; corpus/image/regress-png-huge-chunk.png). So both PNG
// readers tell libpng to skip, unread, every ancillary chunk they do not use
// (EXIF, ICC, text, ...), and cap what it may allocate for any other chunk
// (8 MB, libpng's documented default) and how many it keeps.
constexpr std::size_t kMaxPngChunkBytes = 8'000'000;
constexpr std::uint32_t kMaxPngStoredChunks = 1000;
void limit_png_chunks(png_struct_def* png);

// WebP, BMP, TIFF through OpenCV (whole image in memory, then INTER_AREA).
cv::Mat decode_with_opencv(const std::filesystem::path& path, const ImageHeader& header, cv::Size target);

// out = (c·a + 255·(255 − a)) / 255, rounded: the colour seen on a white page.
inline std::uint8_t over_white(unsigned colour, unsigned alpha) {
    return static_cast<std::uint8_t>((colour * alpha + 255u * (255u - alpha) + 127u) / 255u);
}

}  // namespace zgseg
