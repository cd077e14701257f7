// An orthonormal projection onto the data's leading principal directions,
// used as a cheap lower bound on centroid distances:
//     |P (a - b)| <= |a - b|   for P with orthonormal rows.
// With descriptors that live near a low-dimensional subspace (DINO keys,
// anything with cluster structure) the bound is tight, so an exact rescan of
// all live clusters only needs full-width distances for the few clusters
// whose bound is small. The basis comes from subspace iteration on the
// covariance of a strided subsample; it only has to be orthonormal for the
// bound to hold, not exactly the principal subspace.
#pragma once

#include <cstdint>
#include <vector>

namespace zgseg::cluster {

class Projection {
public:
    // x: (n, d) float32. Width m = min(kMaxWidth, d) rounded up to a multiple of 8
    // (extra rows are zero, which keeps the bound valid).
    Projection(const float* x, int64_t n, int64_t d);

    static constexpr int64_t kMaxWidth = 32;

    int64_t width() const { return width_; }
    // out: (width) = P v for a zero-padded row v of padded_width(d) doubles.
    void apply(const double* v, double* out) const;

    static int64_t bytes(int64_t d) { return kMaxWidth * d * 8 + d * d * 8; }

private:
    int64_t width_ = 0, stride_ = 0;
    std::vector<double> basis_;  // (width, stride) orthonormal rows, zero-padded
};

}  // namespace zgseg::cluster
