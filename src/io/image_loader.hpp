// Loading a user's image into the 8-bit RGB working copy the pipeline uses.
//
// Accepted: JPEG (baseline, progressive, grayscale, CMYK/YCCK), PNG (any bit
// depth and colour type, interlaced or not), WebP (still), BMP, TIFF. The
// format is taken from the content, never from the file name.
// Conversions: EXIF orientation is applied (JPEG APP1, PNG eXIf, WebP EXIF,
// TIFF tag 274) as viewers do; grayscale and palette become RGB; 16-bit
// samples become v·255/65535 rounded; alpha is composited on WHITE (what
// viewers show for a transparent background; dropping alpha would expose the
// arbitrary colours stored under transparent pixels). No colour management:
// ICC profiles and gAMA are ignored.
// Refusals (zgseg::Error, one line naming the file and what to do), all
// decided from the header before any pixel buffer is allocated: more than
// max_input_pixels; longer/shorter side ratio above max_aspect; shorter side
// below min_side (small images are NOT upscaled here — stage 1 resizes the
// shorter side to 224 anyway; below 16 px there is less than one 8-px DINO
// patch of content per 2 tokens and such files are mostly placeholders).
// Memory: PNG and JPEG are decoded row by row into the working size
// (longer side ≤ max_working_side), so a 20000×20000 PNG needs about the
// working copy plus one row; WebP/BMP/TIFF are decoded whole by OpenCV and
// limited to max_whole_decode_pixels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include <opencv2/core.hpp>

#include "io/image_header.hpp"

namespace zgseg {

struct ImageLoadLimits {
    // W·H claimed by the header; 500 MP admits a 20000×20000 scan or panorama.
    std::uint64_t max_input_pixels = 500'000'000;
    // Longer side of the decoded working copy; larger images are area-averaged
    // down while decoding. 4096 keeps a 12 MP phone photo (4032×3024) at full size.
    int max_working_side = 4096;
    // Shorter side (after orientation) below which an image is refused.
    int min_side = 16;
    // Longer/shorter side above which an image is refused. Stage 1 resizes the
    // shorter side to 224 and takes DINO stride-2 patches: 109 × (1 + (224·A − 8)/2)
    // tokens, i.e. about 12,200·A — 48.6k tokens at A = 4 (a 4:3 photo gives 17.9k).
    double max_aspect = 4.0;
    // WebP/BMP/TIFF are decoded whole: 64 MP ≈ 256 MB of 8-bit RGBA.
    std::uint64_t max_whole_decode_pixels = 64'000'000;
    // libjpeg's whole-image coefficient buffers, needed by progressive JPEG
    // (about 3 bytes per pixel at 4:2:0, so 512 MiB admits ~170 MP); above it
    // the file is refused rather than swapped to disk.
    std::size_t max_jpeg_decoder_bytes = std::size_t{512} << 20;
};

struct LoadedImage {
    cv::Mat rgb;                // CV_8UC3, R,G,B byte order, upright, longer side ≤ max_working_side
    cv::Size original_size;     // full size after EXIF orientation (label maps are written at this size)
    ImageFormat format = ImageFormat::Png;
    int orientation = 1;        // EXIF orientation that was applied (1 = none)
    bool downscaled = false;    // rgb is smaller than original_size
};

LoadedImage load_image(const std::filesystem::path& path, const ImageLoadLimits& limits = {});

}  // namespace zgseg
