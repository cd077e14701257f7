// What an image file is, read from its first bytes without decoding it:
// format (by content, not by extension), stored size and EXIF orientation.
// Lets the loader refuse absurd sizes (a PNG header claiming 60000×60000)
// before any pixel buffer is allocated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace zgseg {

enum class ImageFormat { Jpeg, Png, WebP, Bmp, Tiff };

const char* format_name(ImageFormat format);

struct ImageHeader {
    ImageFormat format = ImageFormat::Png;
    std::uint32_t width = 0;   // as stored, before EXIF orientation
    std::uint32_t height = 0;
    int orientation = 1;       // EXIF orientation 1..8 (1 = upright or unknown)
    bool interlaced = false;   // Adam7 PNG or progressive JPEG
    std::uint64_t file_size = 0;
};

// Checks that `path` is a readable, non-empty regular file and returns its
// size. Throws zgseg::Error naming the file (missing, directory, empty, no
// permission).
std::uint64_t check_input_file(const std::filesystem::path& path);

// Throws zgseg::Error naming the file for unreadable files, text files,
// recognised but unsupported formats (GIF, HEIC, AVIF, JPEG 2000, PDF, ...),
// unknown content, and headers that are truncated or claim a zero size.
ImageHeader read_image_header(const std::filesystem::path& path);

}  // namespace zgseg
