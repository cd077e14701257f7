// Image resizing with Pillow's exact arithmetic (Image.resize with BICUBIC or
// LANCZOS on an 8-bit RGB image).
//
// The reference pipeline resizes with PIL twice — shorter side to 224 with
// LANCZOS for DINO, and a squash to 336×336 with BICUBIC for CLIP — and
// OpenCV's filters differ (no antialiasing when shrinking, other kernels), so
// we reproduce Pillow's separable resampling: a filter support widened by the
// scale when shrinking, weights normalised per output pixel, fixed-point
// coefficients with 22 fractional bits, a horizontal pass rounded to 8 bits,
// then a vertical pass.
#pragma once

#include <cstdint>
#include <vector>

namespace zgseg {

enum class ResampleFilter { Bicubic, Lanczos };

// rgb: height × width × 3 interleaved. Returns out_height × out_width × 3.
std::vector<uint8_t> resize_like_pil(const uint8_t* rgb, int width, int height, int out_width, int out_height,
                                     ResampleFilter filter);

}  // namespace zgseg
