#include "io/image_loader.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "io/area_downscaler.hpp"
#include "io/decoders.hpp"
#include "io/orientation.hpp"
#include "zgseg/error.hpp"

namespace zgseg {
namespace {

std::string size_text(std::uint64_t width, std::uint64_t height) {
    return std::to_string(width) + "x" + std::to_string(height);
}

std::string number_text(double value) {
    std::ostringstream out;
    out << std::defaultfloat << std::setprecision(4) << value;
    return out.str();
}

std::string megapixels(std::uint64_t pixels) {
    std::ostringstream out;
    out.precision(pixels < 10'000'000 ? 2 : 0);
    out << std::fixed << pixels / 1e6 << " MP";
    return out.str();
}

// Every refusal that the header alone decides.
void check_limits(const std::filesystem::path& path, const ImageHeader& header, const ImageLoadLimits& limits) {
    const std::uint64_t w = header.width, h = header.height, pixels = w * h;
    const std::string name = path.string();
    if (pixels > limits.max_input_pixels)
        throw Error("image file " + name + " claims " + size_text(w, h) + " pixels (" + megapixels(pixels) +
                    "), more than the " + megapixels(limits.max_input_pixels) + " zgseg accepts; downscale it first");
    const std::uint64_t shorter = std::min(w, h), longer = std::max(w, h);
    if (static_cast<double>(longer) > limits.max_aspect * static_cast<double>(shorter)) {
        throw Error("image file " + name + " is " + size_text(w, h) + ", a side ratio of " +
                    number_text(static_cast<double>(longer) / static_cast<double>(shorter)) +
                    ":1; zgseg accepts at most " + number_text(limits.max_aspect) +
                    ":1 (the token count grows with it); crop it into parts");
    }
    if (shorter < static_cast<std::uint64_t>(limits.min_side))
        throw Error("image file " + name + " is only " + size_text(w, h) + " pixels; zgseg needs at least " +
                    std::to_string(limits.min_side) + " pixels on the shorter side; use a larger image");
    const bool whole = header.format != ImageFormat::Png && header.format != ImageFormat::Jpeg;
    if (whole && pixels > limits.max_whole_decode_pixels)
        throw Error("image file " + name + " is a " + format_name(header.format) + " of " + megapixels(pixels) +
                    "; zgseg decodes " + format_name(header.format) + " files whole and accepts at most " +
                    megapixels(limits.max_whole_decode_pixels) +
                    "; convert it to PNG or JPEG (decoded in bounded memory) or downscale it");
}

}  // namespace

LoadedImage load_image(const std::filesystem::path& path, const ImageLoadLimits& limits) {
    const ImageHeader header = read_image_header(path);
    check_limits(path, header, limits);

    const cv::Size stored(static_cast<int>(header.width), static_cast<int>(header.height));
    const cv::Size target = fit_within(stored, limits.max_working_side);
    cv::Mat rgb;
    switch (header.format) {
        case ImageFormat::Png: rgb = decode_png(path, header, target); break;
        case ImageFormat::Jpeg: rgb = decode_jpeg(path, header, target, limits.max_jpeg_decoder_bytes); break;
        default: rgb = decode_with_opencv(path, header, target); break;
    }

    LoadedImage image;
    image.rgb = apply_orientation(rgb, header.orientation);
    image.format = header.format;
    image.orientation = header.orientation;
    image.original_size = orientation_swaps_axes(header.orientation) ? cv::Size(stored.height, stored.width) : stored;
    image.downscaled = target != stored;
    return image;
}

}  // namespace zgseg
