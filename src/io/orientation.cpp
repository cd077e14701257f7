#include "io/orientation.hpp"

#include <cstring>
#include <opencv2/core.hpp>

namespace zgseg {
namespace {

constexpr std::uint16_t kTagWidth = 256, kTagHeight = 257, kTagOrientation = 274;
constexpr std::uint16_t kTypeShort = 3, kTypeLong = 4;
constexpr std::uint16_t kMaxIfdEntries = 4096;

struct ByteOrder {
    bool little = true;
    std::uint16_t u16(const std::uint8_t* p) const {
        return little ? static_cast<std::uint16_t>(p[0] | (p[1] << 8)) : static_cast<std::uint16_t>((p[0] << 8) | p[1]);
    }
    std::uint32_t u32(const std::uint8_t* p) const {
        return little ? (std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
                         (std::uint32_t{p[3]} << 24))
                      : ((std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
                         std::uint32_t{p[3]});
    }
};

}  // namespace

bool read_tiff_ifd0(const TiffByteSource& source, TiffIfd0& out) {
    std::uint8_t header[8];
    if (!source(0, 8, header)) return false;
    ByteOrder order;
    if (header[0] == 'I' && header[1] == 'I') order.little = true;
    else if (header[0] == 'M' && header[1] == 'M') order.little = false;
    else return false;
    if (order.u16(header + 2) != 42) return false;
    const std::uint32_t ifd = order.u32(header + 4);
    std::uint8_t count_bytes[2];
    if (!source(ifd, 2, count_bytes)) return false;
    const std::uint16_t count = order.u16(count_bytes);
    if (count == 0 || count > kMaxIfdEntries) return false;
    for (std::uint16_t i = 0; i < count; ++i) {
        std::uint8_t entry[12];
        if (!source(std::uint64_t{ifd} + 2 + 12u * i, 12, entry)) return false;
        const std::uint16_t tag = order.u16(entry), type = order.u16(entry + 2);
        std::uint32_t value = 0;
        if (type == kTypeShort) value = order.u16(entry + 8);  // one SHORT sits in the first 2 value bytes
        else if (type == kTypeLong) value = order.u32(entry + 8);
        else continue;
        if (tag == kTagWidth) out.width = value;
        else if (tag == kTagHeight) out.height = value;
        else if (tag == kTagOrientation) out.orientation = value;
    }
    return true;
}

int exif_orientation(const std::uint8_t* data, std::size_t size) {
    if (size >= 6 && std::memcmp(data, "Exif\0\0", 6) == 0) {
        data += 6;
        size -= 6;
    }
    const TiffByteSource source = [&](std::uint64_t offset, std::size_t n, std::uint8_t* out) {
        if (offset > size || n > size - offset) return false;
        std::memcpy(out, data + offset, n);
        return true;
    };
    TiffIfd0 ifd;
    if (!read_tiff_ifd0(source, ifd)) return 1;
    return ifd.orientation >= 1 && ifd.orientation <= 8 ? static_cast<int>(ifd.orientation) : 1;
}

cv::Mat apply_orientation(const cv::Mat& stored, int orientation) {
    cv::Mat out;
    switch (orientation) {
        case 2: cv::flip(stored, out, 1); break;
        case 3: cv::rotate(stored, out, cv::ROTATE_180); break;
        case 4: cv::flip(stored, out, 0); break;
        case 5: cv::transpose(stored, out); break;
        case 6: cv::rotate(stored, out, cv::ROTATE_90_CLOCKWISE); break;
        case 7: {
            cv::Mat transposed;
            cv::transpose(stored, transposed);
            cv::rotate(transposed, out, cv::ROTATE_180);
            break;
        }
        case 8: cv::rotate(stored, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
        default: out = stored; break;
    }
    return out;
}

}  // namespace zgseg
