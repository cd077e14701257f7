#include "io/image_header.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "io/orientation.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {
namespace {

// Random-access reads from a file, with the size known up front.
class FileBytes {
public:
    FileBytes(const fs::path& path, std::uint64_t size) : size_(size), file_(std::fopen(path.c_str(), "rb"), &std::fclose) {
        if (!file_)
            throw Error("cannot read image file " + path.string() + ": " + std::strerror(errno) +
                        "; check its permissions");
    }
    std::uint64_t size() const { return size_; }
    bool read(std::uint64_t offset, std::size_t n, std::uint8_t* out) const {
        if (offset > size_ || n > size_ - offset) return false;
        if (std::fseek(file_.get(), static_cast<long>(offset), SEEK_SET) != 0) return false;
        return std::fread(out, 1, n, file_.get()) == n;
    }

private:
    std::uint64_t size_;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
};

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
std::uint32_t le16(const std::uint8_t* p) { return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8); }
std::uint32_t le24(const std::uint8_t* p) { return le16(p) | (std::uint32_t{p[2]} << 16); }
std::uint32_t le32(const std::uint8_t* p) { return le24(p) | (std::uint32_t{p[3]} << 24); }

[[noreturn]] void throw_corrupt(const fs::path& path, const char* format, const std::string& what) {
    throw Error("image file " + path.string() + " is truncated or corrupt (" + format + " " + what +
                "); re-export or re-download it");
}

bool starts_with(const std::uint8_t* data, std::size_t size, const char* magic, std::size_t n) {
    return size >= n && std::memcmp(data, magic, n) == 0;
}

// Names formats we recognise but do not decode, for a clearer refusal.
const char* unsupported_format(const std::uint8_t* p, std::size_t n) {
    if (starts_with(p, n, "GIF87a", 6) || starts_with(p, n, "GIF89a", 6)) return "GIF";
    if (n >= 12 && std::memcmp(p + 4, "ftyp", 4) == 0) {
        const std::string brand(reinterpret_cast<const char*>(p + 8), 4);
        if (brand == "avif" || brand == "avis") return "AVIF";
        if (brand.rfind("hei", 0) == 0 || brand.rfind("hev", 0) == 0 || brand == "mif1" || brand == "msf1") return "HEIC/HEIF";
        return "ISO media (MP4/MOV/HEIF)";
    }
    if (starts_with(p, n, "\0\0\0\x0cjP  ", 8) || starts_with(p, n, "\xff\x4f\xff\x51", 4)) return "JPEG 2000";
    if (starts_with(p, n, "\0\0\0\x0cJXL ", 8) || starts_with(p, n, "\xff\x0a", 2)) return "JPEG XL";
    if (starts_with(p, n, "%PDF", 4)) return "PDF";
    if (starts_with(p, n, "8BPS", 4)) return "Photoshop PSD";
    if (starts_with(p, n, "\0\0\1\0", 4)) return "ICO";
    if (starts_with(p, n, "II+\0", 4) || starts_with(p, n, "MM\0+", 4)) return "BigTIFF";
    if (starts_with(p, n, "v/1\1", 4)) return "OpenEXR";
    if (starts_with(p, n, "qoif", 4)) return "QOI";
    if (n >= 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '7') return "Netpbm (PPM/PGM)";
    return nullptr;
}

bool looks_like_text(const std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t c = p[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f) return false;
    }
    return n > 0;
}

void parse_png(const FileBytes& file, const fs::path& path, ImageHeader& header) {
    std::uint8_t ihdr[8 + 8 + 13];
    if (!file.read(0, sizeof ihdr, ihdr)) throw_corrupt(path, "PNG", "header is incomplete");
    if (be32(ihdr + 8) != 13 || std::memcmp(ihdr + 12, "IHDR", 4) != 0) throw_corrupt(path, "PNG", "first chunk is not IHDR");
    header.width = be32(ihdr + 16);
    header.height = be32(ihdr + 20);
    header.interlaced = ihdr[28] == 1;
    // eXIf must precede IDAT (PNG 1.2 extensions 1.5.0): scan chunk headers up to it.
    std::uint64_t offset = 8 + 8 + 13 + 4;
    for (int chunks = 0; chunks < 10000; ++chunks) {
        std::uint8_t chunk[8];
        if (!file.read(offset, 8, chunk)) return;  // decoding reports the truncation
        const std::uint32_t length = be32(chunk);
        if (std::memcmp(chunk + 4, "IDAT", 4) == 0 || std::memcmp(chunk + 4, "IEND", 4) == 0) return;
        if (std::memcmp(chunk + 4, "eXIf", 4) == 0 && length <= (1u << 20)) {
            std::vector<std::uint8_t> exif(length);
            if (file.read(offset + 8, length, exif.data())) header.orientation = exif_orientation(exif.data(), exif.size());
        }
        offset += 12 + std::uint64_t{length};
    }
}

void parse_jpeg(const FileBytes& file, const fs::path& path, ImageHeader& header) {
    std::uint64_t offset = 2;
    bool have_frame = false;
    for (int markers = 0; markers < 100000; ++markers) {
        std::uint8_t byte = 0;
        // Skip stray bytes up to the next 0xFF and any fill bytes (libjpeg
        // tolerates both), but not for long: markers follow each other.
        const std::uint64_t scan_start = offset;
        do {
            if (!file.read(offset++, 1, &byte)) {
                if (have_frame) return;
                throw_corrupt(path, "JPEG", "ends before its frame header");
            }
            if (offset - scan_start > 65536) throw_corrupt(path, "JPEG", "has no marker where one is expected");
        } while (byte != 0xFF);
        do {
            if (!file.read(offset++, 1, &byte)) throw_corrupt(path, "JPEG", "ends inside a marker");
        } while (byte == 0xFF);
        const std::uint8_t marker = byte;
        if (marker == 0x00 || marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) continue;
        if (marker == 0xD9 || marker == 0xDA) {  // EOI / start of scan: the header part is over
            if (!have_frame) throw_corrupt(path, "JPEG", "has no frame header before its image data");
            return;
        }
        std::uint8_t length_bytes[2];
        if (!file.read(offset, 2, length_bytes)) throw_corrupt(path, "JPEG", "ends inside a marker");
        const std::uint32_t length = be16(length_bytes);
        if (length < 2) throw_corrupt(path, "JPEG", "has a marker of invalid length");
        const bool is_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (is_frame && !have_frame) {
            std::uint8_t frame[6];
            if (length < 8 || !file.read(offset + 2, 6, frame)) throw_corrupt(path, "JPEG", "frame header is incomplete");
            header.height = be16(frame + 1);
            header.width = be16(frame + 3);
            header.interlaced = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
            have_frame = true;
        } else if (marker == 0xE1 && length > 8 && header.orientation == 1) {
            std::vector<std::uint8_t> payload(length - 2);
            if (file.read(offset + 2, payload.size(), payload.data()) && std::memcmp(payload.data(), "Exif\0\0", 6) == 0)
                header.orientation = exif_orientation(payload.data(), payload.size());
        }
        offset += length;
    }
    throw_corrupt(path, "JPEG", "has too many markers");
}

void parse_webp(const FileBytes& file, const fs::path& path, ImageHeader& header) {
    // RIFF container: "RIFF" size "WEBP", then chunks of (fourcc, le32 size, data, pad to even).
    std::uint64_t offset = 12;
    bool have_size = false;
    for (int chunks = 0; chunks < 10000; ++chunks) {
        std::uint8_t chunk[8];
        if (!file.read(offset, 8, chunk)) break;
        const std::uint32_t size = le32(chunk + 4);
        const std::string fourcc(reinterpret_cast<const char*>(chunk), 4);
        std::uint8_t data[10];
        if (fourcc == "VP8X") {
            if (size < 10 || !file.read(offset + 8, 10, data)) throw_corrupt(path, "WebP", "VP8X header is incomplete");
            if (data[0] & 0x02)
                throw Error("image file " + path.string() + " is an animated WebP, which zgseg does not read; "
                            "export one frame as PNG or JPEG");
            header.width = le24(data + 4) + 1;
            header.height = le24(data + 7) + 1;
            have_size = true;
        } else if (fourcc == "VP8 " && !have_size) {
            if (size < 10 || !file.read(offset + 8, 10, data)) throw_corrupt(path, "WebP", "VP8 header is incomplete");
            if (data[3] != 0x9d || data[4] != 0x01 || data[5] != 0x2a) throw_corrupt(path, "WebP", "VP8 start code is missing");
            header.width = le16(data + 6) & 0x3fff;
            header.height = le16(data + 8) & 0x3fff;
            have_size = true;
        } else if (fourcc == "VP8L" && !have_size) {
            if (size < 5 || !file.read(offset + 8, 5, data) || data[0] != 0x2f)
                throw_corrupt(path, "WebP", "VP8L header is incomplete");
            const std::uint32_t bits = le32(data + 1);
            header.width = (bits & 0x3fff) + 1;
            header.height = ((bits >> 14) & 0x3fff) + 1;
            have_size = true;
        } else if (fourcc == "EXIF" && size <= (1u << 20)) {
            std::vector<std::uint8_t> exif(size);
            if (file.read(offset + 8, size, exif.data())) header.orientation = exif_orientation(exif.data(), exif.size());
        }
        offset += 8 + std::uint64_t{size} + (size & 1u);
    }
    if (!have_size) throw_corrupt(path, "WebP", "has no image header");
}

void parse_bmp(const FileBytes& file, const fs::path& path, ImageHeader& header) {
    std::uint8_t info[14 + 12];
    if (!file.read(0, sizeof info, info)) throw_corrupt(path, "BMP", "header is incomplete");
    const std::uint32_t info_size = le32(info + 14);
    if (info_size == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
        header.width = le16(info + 18);
        header.height = le16(info + 20);
    } else {
        const auto width = static_cast<std::int32_t>(le32(info + 18));
        const auto height = static_cast<std::int32_t>(le32(info + 22));  // negative = stored top-down
        if (width < 0) throw_corrupt(path, "BMP", "width is negative");
        header.width = static_cast<std::uint32_t>(width);
        header.height = height < 0 ? static_cast<std::uint32_t>(-static_cast<std::int64_t>(height)) : static_cast<std::uint32_t>(height);
    }
}

void parse_tiff(const FileBytes& file, const fs::path& path, ImageHeader& header) {
    TiffIfd0 ifd;
    const TiffByteSource source = [&](std::uint64_t offset, std::size_t n, std::uint8_t* out) { return file.read(offset, n, out); };
    if (!read_tiff_ifd0(source, ifd)) throw_corrupt(path, "TIFF", "first directory is unreadable");
    header.width = ifd.width;
    header.height = ifd.height;
    header.orientation = ifd.orientation >= 1 && ifd.orientation <= 8 ? static_cast<int>(ifd.orientation) : 1;
}

}  // namespace

const char* format_name(ImageFormat format) {
    switch (format) {
        case ImageFormat::Jpeg: return "JPEG";
        case ImageFormat::Png: return "PNG";
        case ImageFormat::WebP: return "WebP";
        case ImageFormat::Bmp: return "BMP";
        case ImageFormat::Tiff: return "TIFF";
    }
    return "?";
}

std::uint64_t check_input_file(const fs::path& path) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) throw Error("image file " + path.string() + " does not exist; check the path");
    if (fs::is_directory(status)) throw Error(path.string() + " is a directory, not an image file; pass an image file");
    if (!fs::is_regular_file(status)) throw Error(path.string() + " is not a regular file; pass an image file");
    const std::uint64_t size = fs::file_size(path, ec);
    if (ec) throw Error("cannot read image file " + path.string() + ": " + ec.message());
    if (size == 0) throw Error("image file " + path.string() + " is empty (0 bytes); re-export or re-download it");
    return size;
}

ImageHeader read_image_header(const fs::path& path) {
    ImageHeader header;
    header.file_size = check_input_file(path);
    const FileBytes file(path, header.file_size);
    std::uint8_t magic[16] = {};
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof magic, file.size()));
    if (!file.read(0, n, magic)) throw Error("cannot read image file " + path.string() + ": read error");

    if (starts_with(magic, n, "\x89PNG\r\n\x1a\n", 8)) {
        header.format = ImageFormat::Png;
        parse_png(file, path, header);
    } else if (starts_with(magic, n, "\xff\xd8\xff", 3)) {
        header.format = ImageFormat::Jpeg;
        parse_jpeg(file, path, header);
    } else if (starts_with(magic, n, "RIFF", 4) && n >= 12 && std::memcmp(magic + 8, "WEBP", 4) == 0) {
        header.format = ImageFormat::WebP;
        parse_webp(file, path, header);
    } else if (starts_with(magic, n, "BM", 2)) {
        header.format = ImageFormat::Bmp;
        parse_bmp(file, path, header);
    } else if (starts_with(magic, n, "II*\0", 4) || starts_with(magic, n, "MM\0*", 4)) {
        header.format = ImageFormat::Tiff;
        parse_tiff(file, path, header);
    } else if (const char* other = unsupported_format(magic, n)) {
        throw Error("image file " + path.string() + " is a " + other +
                    " file, which zgseg does not read; convert it to PNG or JPEG");
    } else {
        std::uint8_t prefix[512];
        const std::size_t m = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof prefix, file.size()));
        if (file.read(0, m, prefix) && looks_like_text(prefix, m))
            throw Error(path.string() + " is a text file, not an image; check that it is really a picture");
        throw Error(path.string() + " is not an image zgseg can read (no JPEG, PNG, WebP, BMP or TIFF signature); "
                    "convert it to PNG or JPEG");
    }
    if (header.width == 0 || header.height == 0)
        throw_corrupt(path, format_name(header.format), "header gives a zero width or height");
    return header;
}

}  // namespace zgseg
