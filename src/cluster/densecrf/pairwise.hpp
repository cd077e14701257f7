// Pairwise terms of the dense CRF: a Gaussian kernel over per-pixel features
// (filtered with the permutohedral lattice, then normalised) combined with a
// Potts label compatibility. Mirrors Krähenbühl's DenseKernel /
// PottsCompatibility / PairwisePotential as exposed by pydensecrf.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "cluster/densecrf/permutohedral.hpp"

namespace zgseg::densecrf {

// How the lattice output is normalised (pydensecrf's NormalizationType).
// With D = F(1) the filter response to a constant 1:
//   None      → F(v)
//   Before    → F(v / D)       (transpose: F(v) / D)
//   After     → F(v) / D       (transpose: F(v / D)); the NIPS 2011 variant
//   Symmetric → F(v / √D) / √D (keeps the operator symmetric; the default)
enum class Normalization { None, Before, After, Symmetric };

// Features of pydensecrf's addPairwiseGaussian: (x/sx, y/sy) for pixel
// (x, y), pixels in row-major order. Returns (height*width, 2).
std::vector<float> gaussian_features(int width, int height, float sx, float sy);

// Features of addPairwiseBilateral: (x/sx, y/sy, r/sr, g/sg, b/sb), rgb an
// (height, width, 3) uint8 image in row-major order. Returns (height*width, 5).
std::vector<float> bilateral_features(const uint8_t* rgb, int width, int height, float sx, float sy,
                                      float sr, float sg, float sb);

// Normalised Gaussian kernel K over N points: apply() computes K·v for
// (N, value_size) row-major values.
class DenseKernel {
public:
    // features: (num_points, dim) row-major, already divided by the widths.
    DenseKernel(const std::vector<float>& features, int num_points, int dim,
                Normalization normalization = Normalization::Symmetric);

    void apply(float* out, const float* in, int value_size, LatticeWorkspace& workspace) const;
    void apply_transpose(float* out, const float* in, int value_size, LatticeWorkspace& workspace) const;

    int num_points() const { return lattice_.num_points(); }
    const PermutohedralLattice& lattice() const { return lattice_; }
    // Per-point factor the values are multiplied by (meaning depends on the mode;
    // for Symmetric it is 1/√D). Empty for Normalization::None.
    const std::vector<float>& normalisation() const { return norm_; }

private:
    void filter(float* out, const float* in, int value_size, bool transpose,
                LatticeWorkspace& workspace) const;

    PermutohedralLattice lattice_;
    Normalization normalization_;
    std::vector<float> norm_;
};

// Potts compatibility μ(l, l') = w·[l ≠ l']. Like pydensecrf it is applied as
// out = -w·in: the constant part of the message cancels in the softmax.
class PottsCompatibility {
public:
    explicit PottsCompatibility(float weight) : weight_(weight) {}
    void apply(float* values, std::size_t count) const;
    float weight() const { return weight_; }

private:
    float weight_;
};

// One pairwise term: kernel followed by compatibility.
class PairwiseTerm {
public:
    PairwiseTerm(DenseKernel kernel, PottsCompatibility compatibility)
        : kernel_(std::move(kernel)), compatibility_(compatibility) {}

    // out = compatibility(kernel(Q)); Q and out are (N, num_labels).
    void apply(float* out, const float* q, int num_labels, LatticeWorkspace& workspace) const;

    const DenseKernel& kernel() const { return kernel_; }
    const PottsCompatibility& compatibility() const { return compatibility_; }

private:
    DenseKernel kernel_;
    PottsCompatibility compatibility_;
};

}  // namespace zgseg::densecrf
