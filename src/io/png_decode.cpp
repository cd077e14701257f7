// PNG through libpng with setjmp error handling. All state lives in a context
// owned by the caller, so a longjmp never skips a C++ destructor and never
// reads a local modified after setjmp.
#include <png.h>
#include <spdlog/spdlog.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "io/area_downscaler.hpp"
#include "io/decoders.hpp"
#include "zgseg/error.hpp"

namespace zgseg {
namespace {

struct PngContext {
    std::FILE* file = nullptr;
    png_structp png = nullptr;
    png_infop info = nullptr;
    std::jmp_buf jump;
    char message[256] = {};
    std::vector<std::uint8_t> row, rgb;
    std::unique_ptr<AreaDownscaler> scaler;
    cv::Size target;
    png_uint_32 expected_width = 0, expected_height = 0;

    ~PngContext() {
        if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
        if (file != nullptr) std::fclose(file);
    }
};

void on_error(png_structp png, png_const_charp text) {
    auto* context = static_cast<PngContext*>(png_get_error_ptr(png));
    std::snprintf(context->message, sizeof context->message, "%s", text);
    std::longjmp(context->jump, 1);
}

void on_warning(png_structp, png_const_charp text) { spdlog::debug("libpng: {}", text); }

// Converts one decoded row (RGB or RGBA, 8-bit) to RGB.
const std::uint8_t* to_rgb(PngContext& c, int channels, int count) {
    if (channels == 3) return c.row.data();
    for (int i = 0; i < count; ++i) {
        const std::uint8_t* p = c.row.data() + 4 * i;
        for (int k = 0; k < 3; ++k) c.rgb[3 * i + k] = over_white(p[k], p[3]);
    }
    return c.rgb.data();
}

// Returns false after a libpng error (message in c.message).
bool read_png(PngContext& c) {
    if (setjmp(c.jump)) return false;
    png_init_io(c.png, c.file);
    png_read_info(c.png, c.info);
    const png_uint_32 width = png_get_image_width(c.png, c.info);
    const png_uint_32 height = png_get_image_height(c.png, c.info);
    if (width != c.expected_width || height != c.expected_height) png_error(c.png, "file changed while being read");
    const int color_type = png_get_color_type(c.png, c.info);
    png_set_expand(c.png);       // palette -> RGB, gray 1/2/4 -> 8 bit, tRNS -> alpha
    png_set_scale_16(c.png);     // 16 -> 8 bit with rounding (not truncation)
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(c.png);
    const bool interlaced = png_get_interlace_type(c.png, c.info) == PNG_INTERLACE_ADAM7;
    // No png_set_interlace_handling: Adam7 passes arrive as their own short
    // rows and each pixel goes straight to its place in the target.
    png_read_update_info(c.png, c.info);
    const int channels = png_get_channels(c.png, c.info);
    if (channels != 3 && channels != 4) png_error(c.png, "unexpected channel count after conversion");
    c.row.resize(png_get_rowbytes(c.png, c.info));
    c.rgb.resize(static_cast<std::size_t>(width) * 3);
    const cv::Size source(static_cast<int>(width), static_cast<int>(height));
    c.scaler = std::make_unique<AreaDownscaler>(source, c.target, !interlaced);

    if (!interlaced) {
        for (png_uint_32 y = 0; y < height; ++y) {
            png_read_row(c.png, c.row.data(), nullptr);
            c.scaler->add_row(static_cast<int>(y), to_rgb(c, channels, static_cast<int>(width)));
        }
        return true;
    }
    for (int pass = 0; pass < 7; ++pass) {
        const png_uint_32 cols = PNG_PASS_COLS(width, pass), rows = PNG_PASS_ROWS(height, pass);
        if (cols == 0 || rows == 0) continue;  // libpng skips empty passes too
        for (png_uint_32 r = 0; r < rows; ++r) {
            png_read_row(c.png, c.row.data(), nullptr);
            c.scaler->add_pixels(static_cast<int>(PNG_ROW_FROM_PASS_ROW(r, pass)), PNG_PASS_START_COL(pass),
                                 PNG_PASS_COL_OFFSET(pass), static_cast<int>(cols),
                                 to_rgb(c, channels, static_cast<int>(cols)));
        }
    }
    return true;
}

}  // namespace

void limit_png_chunks(png_structp png) {
    // Neither decoder uses these (orientation comes from read_image_header,
    // colour management is not done): libpng skips them unread, in small steps.
    static const png_byte kSkipped[] = "eXIf\0iCCP\0iTXt\0tEXt\0zTXt\0sPLT\0tIME\0pCAL\0sCAL\0hIST\0bKGD\0"
                                       "cHRM\0gAMA\0sRGB\0sBIT\0pHYs\0oFFs";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kSkipped, static_cast<int>(sizeof kSkipped / 5));
    png_set_chunk_malloc_max(png, kMaxPngChunkBytes);
    png_set_chunk_cache_max(png, kMaxPngStoredChunks);
}

cv::Mat decode_png(const std::filesystem::path& path, const ImageHeader& header, cv::Size target) {
    PngContext context;
    context.target = target;
    context.expected_width = header.width;
    context.expected_height = header.height;
    context.file = std::fopen(path.c_str(), "rb");
    if (context.file == nullptr)
        throw Error("cannot read image file " + path.string() + ": " + std::strerror(errno));
    context.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, on_error, on_warning);
    if (context.png != nullptr) context.info = png_create_info_struct(context.png);
    if (context.png == nullptr || context.info == nullptr) throw Error("libpng could not start (out of memory?)");
    limit_png_chunks(context.png);
    if (!read_png(context))
        throw Error("image file " + path.string() + " is truncated or corrupt (libpng: " + context.message +
                    "); re-export or re-download it");
    return context.scaler->finish();
}

}  // namespace zgseg
