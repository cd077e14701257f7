// WebP, BMP and TIFF: OpenCV decodes the whole image, then it is converted
// and shrunk. IMREAD_UNCHANGED keeps alpha and 16-bit samples (and leaves
// EXIF orientation to the caller, like the other decoders).
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>

#include "io/decoders.hpp"
#include "io/orientation.hpp"
#include "zgseg/error.hpp"

namespace zgseg {
namespace {

// Any depth OpenCV returns for these formats -> 8 bit.
cv::Mat to_8bit(const cv::Mat& image, const std::filesystem::path& path) {
    if (image.depth() == CV_8U) return image;
    cv::Mat out;
    if (image.depth() == CV_16U) {
        out.create(image.size(), CV_MAKETYPE(CV_8U, image.channels()));
        const std::size_t n = image.total() * image.channels();
        const auto* src = image.isContinuous() ? image.ptr<std::uint16_t>() : nullptr;
        if (src == nullptr) return to_8bit(image.clone(), path);  // rows padded: copy once
        auto* dst = out.ptr<std::uint8_t>();
        for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<std::uint8_t>((src[i] * 255u + 32767u) / 65535u);
        return out;
    }
    if (image.depth() == CV_32F || image.depth() == CV_64F) {  // float TIFF: 0..1
        image.convertTo(out, CV_8U, 255.0);
        return out;
    }
    throw Error("image file " + path.string() + " has an unsupported sample type; save it as 8- or 16-bit");
}

// premultiplied: OpenCV reads 8-bit TIFF through libtiff's RGBA interface,
// which returns colour already multiplied by alpha.
cv::Mat to_rgb(const cv::Mat& image, const std::filesystem::path& path, bool premultiplied) {
    cv::Mat rgb;
    switch (image.channels()) {
        case 1: cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB); break;
        case 3: cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB); break;  // OpenCV's order is BGR(A)
        case 2:
        case 4: {
            const bool gray = image.channels() == 2;
            rgb.create(image.size(), CV_8UC3);
            for (int y = 0; y < image.rows; ++y) {
                const std::uint8_t* src = image.ptr<std::uint8_t>(y);
                std::uint8_t* dst = rgb.ptr<std::uint8_t>(y);
                for (int x = 0; x < image.cols; ++x) {
                    const std::uint8_t* p = src + x * image.channels();
                    const unsigned alpha = p[image.channels() - 1];
                    for (int c = 0; c < 3; ++c) {
                        const unsigned colour = gray ? p[0] : p[2 - c];
                        dst[3 * x + c] = premultiplied ? static_cast<std::uint8_t>(std::min(255u, colour + 255u - alpha))
                                                       : over_white(colour, alpha);
                    }
                }
            }
            break;
        }
        default:
            throw Error("image file " + path.string() + " has " + std::to_string(image.channels()) +
                        " channels; save it as RGB or grayscale");
    }
    return rgb;
}

}  // namespace

cv::Mat decode_with_opencv(const std::filesystem::path& path, const ImageHeader& header, cv::Size target) {
    cv::Mat decoded;
    try {
        decoded = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
        // OpenCV asserts rather than returning empty for some inconsistent
        // files (found by fuzz_image: a WebP whose VP8X and VP8L sizes disagree).
        throw Error("image file " + path.string() + " could not be decoded as " + format_name(header.format) + " (" +
                    e.err + "); re-export it as PNG or JPEG");
    }
    if (decoded.empty())
        throw Error("image file " + path.string() + " could not be decoded as " + format_name(header.format) +
                    " (corrupt, truncated or an unsupported variant); re-export it as PNG or JPEG");
    // OpenCV's TIFF reader applies the orientation tag itself, whatever the
    // flags; undo it so every decoder returns the stored orientation.
    const bool tiff = header.format == ImageFormat::Tiff;
    const int applied = tiff ? header.orientation : 1;
    const cv::Size stored(static_cast<int>(header.width), static_cast<int>(header.height));
    const cv::Size expected = orientation_swaps_axes(applied) ? cv::Size(stored.height, stored.width) : stored;
    if (decoded.size() != expected)
        throw Error("image file " + path.string() + " decoded to " + std::to_string(decoded.cols) + "x" +
                    std::to_string(decoded.rows) + " but its header says " + std::to_string(header.width) + "x" +
                    std::to_string(header.height) + "; re-export it as PNG or JPEG");
    if (applied != 1) decoded = apply_orientation(decoded, inverse_orientation(applied));
    const bool premultiplied = tiff && decoded.depth() == CV_8U && decoded.channels() == 4;
    cv::Mat rgb = to_rgb(to_8bit(decoded, path), path, premultiplied);
    if (rgb.size() == target) return rgb;
    cv::Mat resized;
    cv::resize(rgb, resized, target, 0, 0, cv::INTER_AREA);
    return resized;
}

}  // namespace zgseg
