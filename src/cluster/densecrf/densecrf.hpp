// Dense (fully connected) CRF with Gaussian edge potentials and mean-field
// inference (Krähenbühl & Koltun 2011), matching pydensecrf's DenseCRF2D:
//   Q⁰ = softmax(−U);  Qᵗ⁺¹ = softmax(−U − Σ_terms compat(kernel(Qᵗ))).
// All label arrays are (num_points, num_labels) row-major — the transpose of
// pydensecrf's (num_labels, num_points) numpy view, same memory order as its
// internal column-major Eigen matrices.
#pragma once

#include <cstdint>
#include <vector>

#include "cluster/densecrf/pairwise.hpp"

namespace zgseg::densecrf {

class DenseCrf {
public:
    DenseCrf(int num_points, int num_labels);

    // energy: (num_points, num_labels), lower = more likely; copied.
    // Without a unary the energies are all zero.
    void set_unary_energy(const float* energy);
    void add_pairwise(PairwiseTerm term);

    // Mean-field marginals Q after `iterations` updates: (num_points, num_labels).
    std::vector<float> inference(int iterations) const;

    int num_points() const { return num_points_; }
    int num_labels() const { return num_labels_; }

private:
    int num_points_;
    int num_labels_;
    std::vector<float> unary_;  // (num_points, num_labels)
    std::vector<PairwiseTerm> pairwise_;
};

// Row-wise softmax of (rows, cols) logits: subtract the row maximum, exp, divide by the sum.
void softmax_rows(float* out, const float* logits, std::size_t rows, int cols);

// Index of the largest entry of each row (first one on ties, like argmax). (rows,)
std::vector<int32_t> argmax_rows(const std::vector<float>& q, int cols);

// The project's CRF settings (reference-notes §2; pydensecrf defaults DIAG_KERNEL
// and NORMALIZE_SYMMETRIC for both kernels).
struct CrfParams {
    float gaussian_sxy = 1.0f;
    float gaussian_compat = 25.0f;
    float bilateral_sxy = 5.0f;
    float bilateral_srgb = 13.0f;
    float bilateral_compat = 100.0f;
    int iterations = 10;
};

struct CrfResult {
    std::vector<float> q;         // (H*W, K) marginals
    std::vector<int32_t> labels;  // (H*W,) argmax of q
};

// unary: (H*W, K) row-major energies; rgb: (H, W, 3) uint8 in RGB order.
// Equivalent to DenseCRF2D(W, H, K) + setUnaryEnergy(unary.T) +
// addPairwiseGaussian + addPairwiseBilateral + inference(iterations).
CrfResult dense_crf(const float* unary, int num_labels, const uint8_t* rgb, int height, int width,
                    const CrfParams& params = CrfParams{});

}  // namespace zgseg::densecrf
