#include "cluster/densecrf/pairwise.hpp"

#include <cmath>
#include <string>

#include "zgseg/error.hpp"

namespace zgseg::densecrf {

std::vector<float> gaussian_features(int width, int height, float sx, float sy) {
    if (width <= 0 || height <= 0 || !(sx > 0.0f) || !(sy > 0.0f))
        throw Error("dense CRF Gaussian kernel: need a non-empty image and positive widths (got " +
                    std::to_string(width) + "x" + std::to_string(height) + ", sx " + std::to_string(sx) +
                    ", sy " + std::to_string(sy) + ")");
    std::vector<float> features(static_cast<std::size_t>(width) * height * 2);  // (H*W, 2)
    float* f = features.data();
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x, f += 2) {
            f[0] = static_cast<float>(x) / sx;
            f[1] = static_cast<float>(y) / sy;
        }
    return features;
}

std::vector<float> bilateral_features(const uint8_t* rgb, int width, int height, float sx, float sy,
                                      float sr, float sg, float sb) {
    if (rgb == nullptr || width <= 0 || height <= 0 || !(sx > 0.0f) || !(sy > 0.0f) || !(sr > 0.0f) ||
        !(sg > 0.0f) || !(sb > 0.0f))
        throw Error("dense CRF bilateral kernel: need a non-empty RGB image and positive widths (got " +
                    std::to_string(width) + "x" + std::to_string(height) + ")");
    std::vector<float> features(static_cast<std::size_t>(width) * height * 5);  // (H*W, 5)
    float* f = features.data();
    const uint8_t* px = rgb;
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x, f += 5, px += 3) {
            f[0] = static_cast<float>(x) / sx;
            f[1] = static_cast<float>(y) / sy;
            f[2] = static_cast<float>(px[0]) / sr;
            f[3] = static_cast<float>(px[1]) / sg;
            f[4] = static_cast<float>(px[2]) / sb;
        }
    return features;
}

DenseKernel::DenseKernel(const std::vector<float>& features, int num_points, int dim,
                         Normalization normalization)
    : normalization_(normalization) {
    if (num_points <= 0 || dim <= 0 ||
        features.size() != static_cast<std::size_t>(num_points) * static_cast<std::size_t>(dim))
        throw Error("dense CRF kernel: feature array has " + std::to_string(features.size()) +
                    " values, expected points x dim = " + std::to_string(num_points) + " x " +
                    std::to_string(dim));
    lattice_.init(features.data(), num_points, dim);
    if (normalization_ == Normalization::None) return;

    // D = F(1); the 1e-20 guards isolated points (computed in double like pydensecrf).
    norm_.assign(static_cast<std::size_t>(num_points), 1.0f);
    lattice_.compute(norm_.data(), norm_.data(), 1);
    for (float& n : norm_) {
        const double d = static_cast<double>(n) + 1e-20;
        n = static_cast<float>(normalization_ == Normalization::Symmetric ? 1.0 / std::sqrt(d) : 1.0 / d);
    }
}

void DenseKernel::filter(float* out, const float* in, int value_size, bool transpose,
                         LatticeWorkspace& workspace) const {
    const Normalization n = normalization_;
    const bool before = n == Normalization::Symmetric || (n == Normalization::Before && !transpose) ||
                        (n == Normalization::After && transpose);
    const bool after = n == Normalization::Symmetric || (n == Normalization::Before && transpose) ||
                       (n == Normalization::After && !transpose);
    const std::size_t points = static_cast<std::size_t>(lattice_.num_points());
    const std::size_t vs = static_cast<std::size_t>(value_size);

    if (before) {
        for (std::size_t i = 0; i < points; ++i)
            for (std::size_t c = 0; c < vs; ++c) out[i * vs + c] = in[i * vs + c] * norm_[i];
        in = out;
    }
    lattice_.compute(out, in, value_size, transpose, workspace);
    if (after) {
        for (std::size_t i = 0; i < points; ++i)
            for (std::size_t c = 0; c < vs; ++c) out[i * vs + c] *= norm_[i];
    }
}

void DenseKernel::apply(float* out, const float* in, int value_size, LatticeWorkspace& workspace) const {
    filter(out, in, value_size, false, workspace);
}

void DenseKernel::apply_transpose(float* out, const float* in, int value_size,
                                  LatticeWorkspace& workspace) const {
    filter(out, in, value_size, true, workspace);
}

void PottsCompatibility::apply(float* values, std::size_t count) const {
    const float negative = -weight_;
    for (std::size_t i = 0; i < count; ++i) values[i] = negative * values[i];
}

void PairwiseTerm::apply(float* out, const float* q, int num_labels, LatticeWorkspace& workspace) const {
    kernel_.apply(out, q, num_labels, workspace);
    compatibility_.apply(out, static_cast<std::size_t>(kernel_.num_points()) * num_labels);
}

}  // namespace zgseg::densecrf
