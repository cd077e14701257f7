// Image loading: header sniffing (JPEG, PNG, WebP, BMP, TIFF and the refused
// formats), EXIF orientation, the streaming PNG and JPEG decoders (interlaced,
// 16-bit, palette, progressive, CMYK), the OpenCV path, and the area
// downscaler. The size limits are lowered so that one input decodes in
// milliseconds; the memory at full size is test_image_loader_large's job.
#include "fuzz.hpp"
#include "io/image_loader.hpp"

using namespace zgseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto path = fuzz::write_file("input", data, size);
    ImageLoadLimits limits;
    limits.max_input_pixels = 4'000'000;
    limits.max_whole_decode_pixels = 4'000'000;
    limits.max_working_side = 256;  // most inputs go through the downscaler
    limits.max_jpeg_decoder_bytes = std::size_t{64} << 20;
    fuzz::expect_errors([&] {
        const LoadedImage image = load_image(path, limits);
        if (image.rgb.type() != CV_8UC3 || image.rgb.empty() || std::max(image.rgb.cols, image.rgb.rows) > 256 ||
            image.rgb.cols > image.original_size.width || image.rgb.rows > image.original_size.height)
            std::abort();
    });
    return 0;
}
