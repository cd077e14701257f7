// libpng with setjmp error handling; state in caller-owned contexts (see
// png_decode.cpp for why).
#include "io/label_png.hpp"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include "io/atomic_file.hpp"
#include "io/decoders.hpp"
#include "io/palette.hpp"
#include "zgseg/error.hpp"

namespace zgseg {
namespace {

constexpr std::uint64_t kMaxLabelPixels = 500'000'000;

struct PngErrorSink {
    std::jmp_buf jump;
    char message[256] = {};
};

void on_error(png_structp png, png_const_charp text) {
    auto* sink = static_cast<PngErrorSink*>(png_get_error_ptr(png));
    std::snprintf(sink->message, sizeof sink->message, "%s", text);
    std::longjmp(sink->jump, 1);
}

void on_warning(png_structp, png_const_charp) {}

// ---- writing ----

struct WriteContext {
    PngErrorSink sink;
    png_structp png = nullptr;
    png_infop info = nullptr;
    std::FILE* file = nullptr;
    cv::Mat labels;  // CV_32S
    cv::Size size;
    bool palette = true;
    std::vector<int> source_column;
    std::vector<std::uint8_t> row;

    ~WriteContext() {
        if (png != nullptr) png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
    }
};

bool write_png(WriteContext& c) {
    if (setjmp(c.sink.jump)) return false;
    png_init_io(c.png, c.file);
    const auto width = static_cast<png_uint_32>(c.size.width), height = static_cast<png_uint_32>(c.size.height);
    if (c.palette) {
        png_set_IHDR(c.png, c.info, width, height, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_color colours[256];
        for (int i = 0; i < 256; ++i) {
            const Rgb rgb = voc_palette()[i];
            colours[i] = {rgb[0], rgb[1], rgb[2]};
        }
        png_set_PLTE(c.png, c.info, colours, 256);
        png_set_filter(c.png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);  // the PNG spec's advice for palettes
    } else {
        png_set_IHDR(c.png, c.info, width, height, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    }
    png_write_info(c.png, c.info);
    const int bytes = c.palette ? 1 : 2;
    for (int y = 0; y < c.size.height; ++y) {
        const int source_row = static_cast<int>(static_cast<std::int64_t>(y) * c.labels.rows / c.size.height);
        const std::int32_t* labels = c.labels.ptr<std::int32_t>(source_row);
        std::uint8_t* out = c.row.data();
        for (int x = 0; x < c.size.width; ++x) {
            const auto value = static_cast<std::uint32_t>(labels[c.source_column[x]]);
            if (bytes == 1) {
                out[x] = static_cast<std::uint8_t>(value);
            } else {  // PNG stores 16-bit samples big-endian
                out[2 * x] = static_cast<std::uint8_t>(value >> 8);
                out[2 * x + 1] = static_cast<std::uint8_t>(value & 0xff);
            }
        }
        png_write_row(c.png, c.row.data());
    }
    png_write_end(c.png, c.info);
    return true;
}

// ---- reading ----

struct ReadContext {
    PngErrorSink sink;
    png_structp png = nullptr;
    png_infop info = nullptr;
    std::FILE* file = nullptr;
    cv::Mat raw;  // CV_8U or CV_16U
    std::vector<png_bytep> rows;
    bool not_indices = false;
    bool too_large = false;

    ~ReadContext() {
        if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
        if (file != nullptr) std::fclose(file);
    }
};

bool read_png(ReadContext& c) {
    if (setjmp(c.sink.jump)) return false;
    png_init_io(c.png, c.file);
    png_read_info(c.png, c.info);
    const png_uint_32 width = png_get_image_width(c.png, c.info), height = png_get_image_height(c.png, c.info);
    const int color_type = png_get_color_type(c.png, c.info), depth = png_get_bit_depth(c.png, c.info);
    if (color_type != PNG_COLOR_TYPE_PALETTE && color_type != PNG_COLOR_TYPE_GRAY) {
        c.not_indices = true;
        return true;
    }
    if (std::uint64_t{width} * height > kMaxLabelPixels) {
        c.too_large = true;
        return true;
    }
    if (depth < 8) png_set_packing(c.png);  // one index per byte, values unscaled
    if (depth == 16) png_set_swap(c.png);   // to host (little-endian) order
    png_set_interlace_handling(c.png);
    png_read_update_info(c.png, c.info);
    c.raw.create(static_cast<int>(height), static_cast<int>(width), depth == 16 ? CV_16U : CV_8U);
    c.rows.resize(height);
    for (png_uint_32 y = 0; y < height; ++y) c.rows[y] = c.raw.ptr<png_byte>(static_cast<int>(y));
    png_read_image(c.png, c.rows.data());
    return true;
}

}  // namespace

void write_label_png(const std::filesystem::path& path, const cv::Mat& labels, cv::Size output_size, bool overwrite) {
    if (labels.empty() || labels.channels() != 1 || labels.dims != 2)
        throw Error("write_label_png(" + path.string() + "): the label map must be a non-empty 2-D single-channel array");
    if (output_size.width < 1 || output_size.height < 1)
        throw Error("write_label_png(" + path.string() + "): invalid output size");
    WriteContext context;
    labels.convertTo(context.labels, CV_32S);
    double low = 0, high = 0;
    cv::minMaxLoc(context.labels, &low, &high);
    if (low < 0 || high > 65535)
        throw Error("write_label_png(" + path.string() + "): label ids must be in 0..65535, got " +
                    std::to_string(static_cast<long>(low)) + ".." + std::to_string(static_cast<long>(high)));
    context.palette = high <= 255;
    context.size = output_size;
    context.source_column.resize(static_cast<std::size_t>(output_size.width));
    for (int x = 0; x < output_size.width; ++x)
        context.source_column[x] = static_cast<int>(static_cast<std::int64_t>(x) * labels.cols / output_size.width);
    context.row.resize(static_cast<std::size_t>(output_size.width) * (context.palette ? 1 : 2));

    AtomicFile file(path, overwrite);
    context.file = file.stream();
    context.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &context.sink, on_error, on_warning);
    if (context.png != nullptr) context.info = png_create_info_struct(context.png);
    if (context.png == nullptr || context.info == nullptr) throw Error("libpng could not start (out of memory?)");
    if (!write_png(context))
        throw Error("writing label map " + path.string() + " failed (libpng: " + context.sink.message +
                    "); is the disk full?");
    file.commit();
}

cv::Mat read_label_png(const std::filesystem::path& path) {
    const std::string name = path.string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) throw Error("label map " + name + " does not exist or is not a file");
    ReadContext context;
    context.file = std::fopen(path.c_str(), "rb");
    if (context.file == nullptr) throw Error("cannot read label map " + name + ": " + std::strerror(errno));
    std::uint8_t signature[8] = {};
    if (std::fread(signature, 1, 8, context.file) != 8 || png_sig_cmp(signature, 0, 8) != 0)
        throw Error("label map " + name + " is not a PNG file");
    context.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context.sink, on_error, on_warning);
    if (context.png != nullptr) context.info = png_create_info_struct(context.png);
    if (context.png == nullptr || context.info == nullptr) throw Error("libpng could not start (out of memory?)");
    limit_png_chunks(context.png);
    png_set_sig_bytes(context.png, 8);
    if (!read_png(context))
        throw Error("label map " + name + " is truncated or corrupt (libpng: " + context.sink.message + ")");
    if (context.not_indices)
        throw Error("label map " + name + " is a colour (RGB/RGBA/gray+alpha) PNG; a label map must be a palette "
                    "or grayscale PNG holding segment ids");
    if (context.too_large) throw Error("label map " + name + " is larger than 500 MP");
    cv::Mat labels;
    context.raw.convertTo(labels, CV_32S);
    return labels;
}

}  // namespace zgseg
