#include "io/resample.hpp"

#include <algorithm>
#include <cmath>

#include "zgseg/error.hpp"

namespace zgseg {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's fixed-point precision

double bicubic(double x) {  // Keys' cubic with a = -0.5, support 2
    constexpr double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return std::sin(x) / x;
}

double lanczos(double x) {  // support 3
    if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
    return 0.0;
}

// For every output pixel along one axis: the first input index, the number
// of taps, and their fixed-point weights.
struct AxisCoefficients {
    int taps = 0;
    std::vector<int> first;
    std::vector<int> count;
    std::vector<int32_t> weights;  // out_size × taps
};

AxisCoefficients axis_coefficients(int in_size, int out_size, ResampleFilter filter) {
    const double support_base = filter == ResampleFilter::Bicubic ? 2.0 : 3.0;
    const double scale = static_cast<double>(in_size) / out_size;
    const double filter_scale = std::max(scale, 1.0);  // widen the kernel when shrinking (antialias)
    const double support = support_base * filter_scale;
    AxisCoefficients c;
    c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(out_size);
    c.count.resize(out_size);
    c.weights.assign(static_cast<size_t>(out_size) * c.taps, 0);
    std::vector<double> k(c.taps);
    for (int x = 0; x < out_size; ++x) {
        const double center = (x + 0.5) * scale;
        const double inv = 1.0 / filter_scale;
        int lo = static_cast<int>(center - support + 0.5);
        if (lo < 0) lo = 0;
        int hi = static_cast<int>(center + support + 0.5);
        if (hi > in_size) hi = in_size;
        const int n = hi - lo;
        double total = 0.0;
        for (int i = 0; i < n; ++i) {
            const double t = (i + lo - center + 0.5) * inv;
            k[i] = filter == ResampleFilter::Bicubic ? bicubic(t) : lanczos(t);
            total += k[i];
        }
        for (int i = 0; i < n; ++i) {
            const double w = total != 0.0 ? k[i] / total : 0.0;
            // Pillow rounds half away from zero when converting to fixed point.
            const double fixed = w * (1 << kPrecisionBits);
            c.weights[static_cast<size_t>(x) * c.taps + i] = static_cast<int32_t>(fixed < 0 ? fixed - 0.5 : fixed + 0.5);
        }
        c.first[x] = lo;
        c.count[x] = n;
    }
    return c;
}

inline uint8_t clip8(int64_t v) {
    v >>= kPrecisionBits;
    return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

}  // namespace

std::vector<uint8_t> resize_like_pil(const uint8_t* rgb, int width, int height, int out_width, int out_height,
                                     ResampleFilter filter) {
    if (width <= 0 || height <= 0 || out_width <= 0 || out_height <= 0)
        throw Error("cannot resize a " + std::to_string(width) + "x" + std::to_string(height) + " image to " +
                    std::to_string(out_width) + "x" + std::to_string(out_height));
    const int64_t rounding = int64_t{1} << (kPrecisionBits - 1);

    // Horizontal pass: height × out_width × 3 (skipped when the width is unchanged).
    std::vector<uint8_t> horizontal;
    const uint8_t* rows = rgb;
    if (out_width != width) {
        const auto cx = axis_coefficients(width, out_width, filter);
        horizontal.resize(static_cast<size_t>(height) * out_width * 3);
        for (int y = 0; y < height; ++y) {
            const uint8_t* in = rgb + static_cast<size_t>(y) * width * 3;
            uint8_t* out = horizontal.data() + static_cast<size_t>(y) * out_width * 3;
            for (int x = 0; x < out_width; ++x) {
                const int32_t* w = &cx.weights[static_cast<size_t>(x) * cx.taps];
                const uint8_t* p = in + static_cast<size_t>(cx.first[x]) * 3;
                int64_t r = rounding, g = rounding, b = rounding;
                for (int i = 0; i < cx.count[x]; ++i, p += 3) {
                    r += int64_t{p[0]} * w[i];
                    g += int64_t{p[1]} * w[i];
                    b += int64_t{p[2]} * w[i];
                }
                out[3 * x] = clip8(r);
                out[3 * x + 1] = clip8(g);
                out[3 * x + 2] = clip8(b);
            }
        }
        rows = horizontal.data();
    }

    // Vertical pass: out_height × out_width × 3.
    if (out_height == height) {
        if (out_width == width) return std::vector<uint8_t>(rgb, rgb + static_cast<size_t>(width) * height * 3);
        return horizontal;
    }
    const auto cy = axis_coefficients(height, out_height, filter);
    std::vector<uint8_t> result(static_cast<size_t>(out_height) * out_width * 3);
    const size_t stride = static_cast<size_t>(out_width) * 3;
    for (int y = 0; y < out_height; ++y) {
        const int32_t* w = &cy.weights[static_cast<size_t>(y) * cy.taps];
        uint8_t* out = result.data() + y * stride;
        for (size_t c = 0; c < stride; ++c) {
            int64_t acc = rounding;
            const uint8_t* p = rows + static_cast<size_t>(cy.first[y]) * stride + c;
            for (int i = 0; i < cy.count[y]; ++i, p += stride) acc += int64_t{*p} * w[i];
            out[c] = clip8(acc);
        }
    }
    return result;
}

}  // namespace zgseg
