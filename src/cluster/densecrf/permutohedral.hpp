// Permutohedral lattice: approximate Gaussian filtering in a d-dimensional
// feature space in O(N·d²) (Adams, Baek & Davis 2010), as used by the dense
// CRF of Krähenbühl & Koltun 2011.
//
// The filter F(v)_i ≈ Σ_j exp(-½‖f_i − f_j‖²) v_j for features f that are
// already divided by the kernel's standard deviations. Each point is splatted
// onto the d+1 vertices of its enclosing simplex (barycentric weights), the
// lattice is blurred with [1 2 1]/2 along each of the d+1 lattice axes, and
// the result is sliced back with the same weights. The arithmetic (rounding,
// operation order) follows pydensecrf's x86 build so results agree to float
// round-off.
#pragma once

#include <cstdint>
#include <vector>

namespace zgseg::densecrf {

// Scratch memory of one lattice filter call; reuse it to avoid reallocating.
struct LatticeWorkspace {
    std::vector<float> values;
    std::vector<float> blurred;
};

class PermutohedralLattice {
public:
    PermutohedralLattice() = default;

    // features: (num_points, dim) row-major. Throws zgseg::Error on bad sizes.
    void init(const float* features, int num_points, int dim);

    // out, in: (num_points, value_size) row-major; out may alias in.
    // reverse = blur the axes in the opposite order, which applies the exact
    // transpose of the forward operator (splat and slice are transposes of
    // each other and every single-axis blur is symmetric).
    void compute(float* out, const float* in, int value_size, bool reverse,
                 LatticeWorkspace& workspace) const;
    void compute(float* out, const float* in, int value_size, bool reverse = false) const;

    int num_points() const { return num_points_; }
    int dim() const { return dim_; }
    int num_vertices() const { return num_vertices_; }

private:
    int num_points_ = 0;
    int dim_ = 0;
    int num_vertices_ = 0;
    // (num_points, dim+1): enclosing-simplex vertex of each point, stored +1
    // so that slot 0 of the value arrays is the all-zero "missing vertex".
    std::vector<int32_t> vertex_;
    std::vector<float> weight_;  // (num_points, dim+1) barycentric weights
    // (dim+1, num_vertices, 2): the two neighbours along each lattice axis,
    // stored +1 like vertex_ (0 = not in the lattice).
    std::vector<int32_t> neighbours_;
};

}  // namespace zgseg::densecrf
