// EXIF orientation (TIFF tag 274): reading it from a TIFF-structured block
// (the payload of a JPEG APP1 "Exif", PNG eXIf or WebP EXIF chunk, or a TIFF
// file itself) and applying it to a decoded image, as viewers do.
#pragma once

#include <cstdint>
#include <functional>

#include <opencv2/core.hpp>

namespace zgseg {

// Reads `size` bytes at `offset` of the TIFF block into `out`; false if out of range.
using TiffByteSource = std::function<bool(std::uint64_t offset, std::size_t size, std::uint8_t* out)>;

// Values of the baseline tags of the first IFD; 0 where a tag is absent.
struct TiffIfd0 {
    std::uint32_t width = 0;        // tag 256
    std::uint32_t height = 0;       // tag 257
    std::uint32_t orientation = 0;  // tag 274
};

// Parses the 8-byte TIFF header ("II*\0" / "MM\0*") and the first IFD.
// Returns false if the block is not a readable classic TIFF structure.
bool read_tiff_ifd0(const TiffByteSource& source, TiffIfd0& out);

// Orientation from an EXIF payload, with or without its "Exif\0\0" prefix;
// 1 when absent, unreadable or outside 1..8.
int exif_orientation(const std::uint8_t* data, std::size_t size);

// True for orientations 5..8, which swap width and height.
inline bool orientation_swaps_axes(int orientation) { return orientation >= 5 && orientation <= 8; }

// The orientation that undoes `orientation` (6 and 8 swap; the others undo themselves).
inline int inverse_orientation(int orientation) { return orientation == 6 ? 8 : orientation == 8 ? 6 : orientation; }

// Turns an image stored with EXIF `orientation` into the upright image
// (1 = as stored, 2 mirror, 3 rotate 180, 4 flip, 5 transpose,
// 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise).
cv::Mat apply_orientation(const cv::Mat& stored, int orientation);

}  // namespace zgseg
