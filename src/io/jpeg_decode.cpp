// JPEG through libjpeg with setjmp error handling; as in png_decode.cpp all
// state lives in a caller-owned context so a longjmp skips no destructor.
#include <cstdio>  // before jpeglib.h, which needs FILE

#include <jerror.h>
#include <jpeglib.h>
#include <spdlog/spdlog.h>

#include <csetjmp>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "io/area_downscaler.hpp"
#include "io/decoders.hpp"
#include "zgseg/error.hpp"

namespace zgseg {
namespace {

// A progressive file can hold any number of scans, each re-read in full: cap
// them so a crafted file cannot keep the decoder busy for hours.
constexpr int kMaxScans = 1000;

struct JpegContext {
    jpeg_decompress_struct cinfo{};
    jpeg_error_mgr errors{};
    jpeg_progress_mgr progress{};
    bool created = false;
    std::FILE* file = nullptr;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64] = {};
    int message_code = 0;
    bool multiple_scans = false;  // progressive or multi-scan: all scans are read before any row is output
    bool hit_end_of_file = false;
    int warnings = 0;
    char first_warning[JMSG_LENGTH_MAX] = {};
    std::vector<std::uint8_t> row, rgb;
    std::unique_ptr<AreaDownscaler> scaler;
    cv::Size target;
    std::size_t max_decoder_bytes = 0;
    JDIMENSION expected_width = 0, expected_height = 0;

    ~JpegContext() {
        if (created) jpeg_destroy_decompress(&cinfo);
        if (file != nullptr) std::fclose(file);
    }
};

JpegContext& context_of(j_common_ptr cinfo) { return *static_cast<JpegContext*>(cinfo->client_data); }

[[noreturn]] void fail(j_common_ptr cinfo) {
    JpegContext& c = context_of(cinfo);
    c.message_code = cinfo->err->msg_code;
    cinfo->err->format_message(cinfo, c.message);
    std::longjmp(c.jump, 1);
}

void on_error_exit(j_common_ptr cinfo) { fail(cinfo); }

// The file ending early shows as JWRN_JPEG_EOF, after which libjpeg feeds
// an end marker and paints missing blocks grey. It is fatal when data was
// actually missing: a corrupt-data warning follows (single scan: the entropy
// decoder ran out of bits), or the file has several scans (later scans, e.g.
// colour or detail, may be missing without any further warning). A baseline
// file that lacks only its final EOI marker decodes completely and is kept.
void on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace messages
    JpegContext& c = context_of(cinfo);
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        c.hit_end_of_file = true;
        if (c.multiple_scans) fail(cinfo);
        return;
    }
    if (c.hit_end_of_file) {
        cinfo->err->msg_code = JWRN_JPEG_EOF;
        fail(cinfo);
    }
    if (c.warnings++ == 0) cinfo->err->format_message(cinfo, c.first_warning);
}

void on_progress(j_common_ptr cinfo) {
    auto* decompress = reinterpret_cast<j_decompress_ptr>(cinfo);
    if (decompress->input_scan_number > kMaxScans) {
        JpegContext& c = context_of(cinfo);
        std::snprintf(c.message, sizeof c.message, "more than %d progressive scans", kMaxScans);
        c.message_code = -1;
        std::longjmp(c.jump, 1);
    }
}

// Largest DCT scaling 1/d (d in 8,4,2,1) whose output still covers the target.
unsigned scale_denominator(JDIMENSION width, JDIMENSION height, cv::Size target) {
    for (unsigned d : {8u, 4u, 2u}) {
        if ((width + d - 1) / d >= static_cast<unsigned>(target.width) &&
            (height + d - 1) / d >= static_cast<unsigned>(target.height))
            return d;
    }
    return 1;
}

const std::uint8_t* to_rgb(JpegContext& c, int count, bool cmyk, bool adobe_inverted) {
    if (!cmyk) return c.row.data();
    for (int i = 0; i < count; ++i) {
        const std::uint8_t* p = c.row.data() + 4 * i;
        // Adobe files store inverted CMYK (255 = no ink): R = C'·K'/255.
        const unsigned k = adobe_inverted ? p[3] : 255u - p[3];
        for (int ch = 0; ch < 3; ++ch) {
            const unsigned v = adobe_inverted ? p[ch] : 255u - p[ch];
            c.rgb[3 * i + ch] = static_cast<std::uint8_t>((v * k + 127u) / 255u);
        }
    }
    return c.rgb.data();
}

bool read_jpeg(JpegContext& c) {
    if (setjmp(c.jump)) return false;
    c.cinfo.err = jpeg_std_error(&c.errors);
    c.errors.error_exit = on_error_exit;
    c.errors.emit_message = on_message;
    c.cinfo.client_data = &c;
    jpeg_create_decompress(&c.cinfo);
    c.created = true;
    c.cinfo.mem->max_memory_to_use = static_cast<long>(c.max_decoder_bytes);
    c.progress.progress_monitor = on_progress;
    c.cinfo.progress = &c.progress;
    jpeg_stdio_src(&c.cinfo, c.file);
    jpeg_read_header(&c.cinfo, TRUE);
    if (c.cinfo.image_width != c.expected_width || c.cinfo.image_height != c.expected_height) {
        std::snprintf(c.message, sizeof c.message, "file changed while being read");
        return false;
    }
    c.multiple_scans = jpeg_has_multiple_scans(&c.cinfo);
    const bool cmyk = c.cinfo.jpeg_color_space == JCS_CMYK || c.cinfo.jpeg_color_space == JCS_YCCK;
    const bool adobe_inverted = cmyk && c.cinfo.saw_Adobe_marker;
    c.cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // grayscale is expanded to RGB by libjpeg
    c.cinfo.scale_num = 1;
    c.cinfo.scale_denom = scale_denominator(c.cinfo.image_width, c.cinfo.image_height, c.target);
    jpeg_start_decompress(&c.cinfo);

    const int width = static_cast<int>(c.cinfo.output_width);
    c.row.resize(static_cast<std::size_t>(width) * c.cinfo.output_components);
    c.rgb.resize(static_cast<std::size_t>(width) * 3);
    c.scaler = std::make_unique<AreaDownscaler>(cv::Size(width, static_cast<int>(c.cinfo.output_height)), c.target, true);
    while (c.cinfo.output_scanline < c.cinfo.output_height) {
        const int y = static_cast<int>(c.cinfo.output_scanline);
        JSAMPROW rows[1] = {c.row.data()};
        if (jpeg_read_scanlines(&c.cinfo, rows, 1) != 1) {
            std::snprintf(c.message, sizeof c.message, "decoder stopped at row %d", y);
            return false;
        }
        c.scaler->add_row(y, to_rgb(c, width, cmyk, adobe_inverted));
    }
    // No jpeg_finish_decompress: every row is decoded; what follows is not needed.
    return true;
}

}  // namespace

cv::Mat decode_jpeg(const std::filesystem::path& path, const ImageHeader& header, cv::Size target,
                    std::size_t max_decoder_bytes) {
    JpegContext context;
    context.target = target;
    context.max_decoder_bytes = max_decoder_bytes;
    context.expected_width = header.width;
    context.expected_height = header.height;
    context.file = std::fopen(path.c_str(), "rb");
    if (context.file == nullptr)
        throw Error("cannot read image file " + path.string() + ": " + std::strerror(errno));
    if (!read_jpeg(context)) {
        const std::string name = path.string();
        if (context.message_code == JWRN_JPEG_EOF || context.hit_end_of_file)
            throw Error("image file " + name + " is truncated (the JPEG data ends before the last row); "
                        "re-export or re-download it");
        if (context.message_code == JERR_NO_BACKING_STORE)
            throw Error("image file " + name + " needs more than " + std::to_string(max_decoder_bytes >> 20) +
                        " MiB to decode (a progressive JPEG of " + std::to_string(header.width) + "x" +
                        std::to_string(header.height) + "); save it as baseline JPEG or PNG, or downscale it");
        throw Error("image file " + name + " is corrupt or unsupported (libjpeg: " + context.message +
                    "); re-export it as JPEG or PNG");
    }
    if (context.hit_end_of_file) spdlog::warn("{}: JPEG file lacks its end marker; all rows decoded", path.string());
    if (context.warnings > 0)
        spdlog::warn("{}: damaged JPEG data, decoded anyway ({}{})", path.string(), context.first_warning,
                     context.warnings > 1 ? ", and " + std::to_string(context.warnings - 1) + " more" : "");
    return context.scaler->finish();
}

}  // namespace zgseg
