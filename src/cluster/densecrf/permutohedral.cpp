#include "cluster/densecrf/permutohedral.hpp"

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>

#include "zgseg/error.hpp"

namespace zgseg::densecrf {
namespace {

// Features beyond this magnitude would lose integer exactness in the float
// lattice coordinates (and are meaningless for image kernels anyway).
constexpr float kMaxFeatureMagnitude = 1.0e5f;

// Open-addressing hash map from an integer lattice key (dim coordinates; the
// last coordinate is implied because keys sum to zero) to a dense vertex id.
// Vertex numbering does not influence the filter's result, only its memory order.
class VertexTable {
public:
    VertexTable(int key_size, std::size_t expected_entries) : key_size_(key_size) {
        std::size_t capacity = 64;
        while (capacity < 2 * expected_entries) capacity <<= 1;
        slots_.assign(capacity, -1);
        mask_ = capacity - 1;
        keys_.reserve(expected_entries * static_cast<std::size_t>(key_size));
    }

    int find_or_insert(const int32_t* key) {
        if (2 * static_cast<std::size_t>(size_ + 1) > slots_.size()) grow();
        std::size_t slot = hash(key);
        while (true) {
            const int id = slots_[slot];
            if (id < 0) {
                keys_.insert(keys_.end(), key, key + key_size_);
                slots_[slot] = size_;
                return size_++;
            }
            if (equal(id, key)) return id;
            slot = (slot + 1) & mask_;
        }
    }

    // -1 when the key is not in the table.
    int find(const int32_t* key) const {
        std::size_t slot = hash(key);
        while (true) {
            const int id = slots_[slot];
            if (id < 0 || equal(id, key)) return id;
            slot = (slot + 1) & mask_;
        }
    }

    int size() const { return size_; }
    const int32_t* key(int id) const { return keys_.data() + static_cast<std::size_t>(id) * key_size_; }

private:
    // Keeps the load factor <= 1/2 so probe sequences stay short.
    void grow() {
        slots_.assign(slots_.size() * 2, -1);
        mask_ = slots_.size() - 1;
        for (int id = 0; id < size_; ++id) {
            std::size_t slot = hash(key(id));
            while (slots_[slot] >= 0) slot = (slot + 1) & mask_;
            slots_[slot] = id;
        }
    }
    std::size_t hash(const int32_t* key) const {
        uint64_t h = 0;
        for (int i = 0; i < key_size_; ++i) h = (h + static_cast<uint32_t>(key[i])) * 0x9E3779B97F4A7C15ull;
        return static_cast<std::size_t>(h ^ (h >> 32)) & mask_;
    }
    bool equal(int id, const int32_t* key) const {
        const int32_t* stored = this->key(id);
        for (int i = 0; i < key_size_; ++i)
            if (stored[i] != key[i]) return false;
        return true;
    }

    int key_size_;
    int size_ = 0;
    std::size_t mask_ = 0;
    std::vector<int> slots_;
    std::vector<int32_t> keys_;
};

}  // namespace

void PermutohedralLattice::init(const float* features, int num_points, int dim) {
    if (features == nullptr || num_points <= 0 || dim <= 0)
        throw Error("permutohedral lattice: need at least one point and one feature dimension (got " +
                    std::to_string(num_points) + " points of dimension " + std::to_string(dim) + ")");
    const std::size_t count = static_cast<std::size_t>(num_points) * dim;
    for (std::size_t i = 0; i < count; ++i)
        if (!(std::fabs(features[i]) <= kMaxFeatureMagnitude))
            throw Error("permutohedral lattice: feature value " + std::to_string(features[i]) +
                        " is not finite or exceeds 1e5; scale the features by the kernel widths");

    const int d = dim;
    const int d1 = dim + 1;
    num_points_ = num_points;
    dim_ = dim;

    // Canonical simplex: vertex r has coordinate r at positions j <= d-r and
    // r-(d+1) after (Adams et al. 2010, p. 5).
    std::vector<int32_t> canonical(static_cast<std::size_t>(d1) * d1);
    for (int r = 0; r <= d; ++r)
        for (int j = 0; j <= d; ++j) canonical[r * d1 + j] = (j <= d - r) ? r : r - d1;

    // Diagonal of the elevation matrix E, scaled so that the lattice blur has
    // unit standard deviation in feature units (Adams et al. 2010, p. 6).
    // Computed in double and stored in float, as pydensecrf does.
    const float inv_std_dev = static_cast<float>(std::sqrt(2.0 / 3.0) * d1);
    std::vector<float> scale(d);
    for (int i = 0; i < d; ++i)
        scale[i] = static_cast<float>(1.0 / std::sqrt(static_cast<double>((i + 2) * (i + 1))) * inv_std_dev);

    const float down = 1.0f / static_cast<float>(d1);
    const float up = static_cast<float>(d1);
    std::vector<float> elevated(d1), rem0(d1), bary(d + 2);
    std::vector<int> rank(d1);
    std::vector<int32_t> key(d);

    // Image features typically give about one to two vertices per point; the table grows as needed.
    VertexTable table(d, static_cast<std::size_t>(num_points));
    vertex_.assign(static_cast<std::size_t>(num_points) * d1, 0);
    weight_.assign(static_cast<std::size_t>(num_points) * d1, 0.0f);

    for (int p = 0; p < num_points; ++p) {
        const float* f = features + static_cast<std::size_t>(p) * d;

        // Elevate onto the hyperplane sum(x) = 0 of R^{d+1}: y = E f.
        float partial = 0.0f;
        for (int j = d; j > 0; --j) {
            const float cf = f[j - 1] * scale[j - 1];
            elevated[j] = partial - static_cast<float>(j) * cf;
            partial += cf;
        }
        elevated[0] = partial;

        // Nearest remainder-0 lattice point (coordinates multiple of d+1);
        // nearbyint rounds half to even like the SSE conversion pydensecrf uses.
        float sum = 0.0f;
        for (int i = 0; i <= d; ++i) {
            const float v = std::nearbyint(down * elevated[i]);
            rem0[i] = v * up;
            sum += v;
        }

        // rank[i] = position of coordinate i when the residuals are sorted
        // in decreasing order (ties broken towards the lower index).
        for (int i = 0; i <= d; ++i) rank[i] = 0;
        for (int i = 0; i < d; ++i) {
            const float di = elevated[i] - rem0[i];
            for (int j = i + 1; j <= d; ++j) {
                if (di < elevated[j] - rem0[j])
                    ++rank[i];
                else
                    ++rank[j];
            }
        }

        // If the rounded point left the hyperplane, shift ranks back into [0, d].
        const int shift = static_cast<int>(sum);
        for (int i = 0; i <= d; ++i) {
            rank[i] += shift;
            if (rank[i] < 0) {
                rank[i] += d1;
                rem0[i] += up;
            } else if (rank[i] > d) {
                rank[i] -= d1;
                rem0[i] -= up;
            }
        }

        // Barycentric coordinates within the simplex (Adams et al. 2010, p. 10).
        for (int i = 0; i <= d + 1; ++i) bary[i] = 0.0f;
        for (int i = 0; i <= d; ++i) {
            const float v = (elevated[i] - rem0[i]) * down;
            bary[d - rank[i]] += v;
            bary[d - rank[i] + 1] -= v;
        }
        bary[0] += 1.0f + bary[d + 1];

        // The d+1 simplex vertices: remainder-0 point plus the canonical offset.
        for (int r = 0; r <= d; ++r) {
            for (int i = 0; i < d; ++i)
                key[i] = static_cast<int32_t>(rem0[i] + static_cast<float>(canonical[r * d1 + rank[i]]));
            const std::size_t at = static_cast<std::size_t>(p) * d1 + r;
            vertex_[at] = table.find_or_insert(key.data()) + 1;
            weight_[at] = bary[r];
        }
    }

    // Neighbours along lattice axis j differ by +d on coordinate j and -1 on
    // the others (and the reverse); axis d only touches the implied coordinate.
    // If u is v's "minus" neighbour then v is u's "plus" neighbour, so one
    // lookup per vertex and axis fills both entries.
    num_vertices_ = table.size();
    const std::size_t m = static_cast<std::size_t>(num_vertices_);
    neighbours_.assign(static_cast<std::size_t>(d1) * m * 2, 0);
    std::vector<int32_t> minus(d1);
    for (int axis = 0; axis <= d; ++axis) {
        int32_t* nb = &neighbours_[static_cast<std::size_t>(axis) * m * 2];
        for (std::size_t v = 0; v < m; ++v) {
            const int32_t* k = table.key(static_cast<int>(v));
            for (int i = 0; i < d; ++i) minus[i] = k[i] - 1;
            if (axis < d) minus[axis] = k[axis] + d;
            const int u = table.find(minus.data());
            if (u < 0) continue;
            nb[2 * v] = u + 1;
            nb[2 * static_cast<std::size_t>(u) + 1] = static_cast<int32_t>(v) + 1;
        }
    }
}

namespace {

// Read-only view of an initialised lattice for the filter kernels below.
struct LatticeView {
    int num_points;
    int dim;
    std::size_t num_vertices;
    const int32_t* vertex;
    const float* weight;
    const int32_t* neighbours;
};

// Splat, blur and slice for kChannels values per point (0 = value_size at run
// time). A compile-time channel count lets the compiler unroll and vectorise
// the short per-vertex loops, the hot spots of CRF inference.
template <int kChannels>
void filter_values(const LatticeView& lat, float* out, const float* in, int value_size, bool reverse, float* values,
                   float* scratch) {
    const int vs = kChannels > 0 ? kChannels : value_size;
    const int d1 = lat.dim + 1;

    // Splat: each point adds its value to its simplex vertices, weighted barycentrically.
    for (int p = 0; p < lat.num_points; ++p) {
        const float* src = in + static_cast<std::size_t>(p) * vs;
        const std::size_t base = static_cast<std::size_t>(p) * d1;
        for (int j = 0; j < d1; ++j) {
            float* dst = values + static_cast<std::size_t>(lat.vertex[base + j]) * vs;
            const float w = lat.weight[base + j];
            for (int c = 0; c < vs; ++c) dst[c] += w * src[c];
        }
    }

    // Blur: [1 2 1]/2 along each lattice axis (values ping-pong with scratch).
    const std::size_t m = lat.num_vertices;
    for (int step = 0; step < d1; ++step) {
        const int axis = reverse ? lat.dim - step : step;
        const int32_t* nb = lat.neighbours + static_cast<std::size_t>(axis) * m * 2;
        for (std::size_t v = 0; v < m; ++v) {
            const float* centre = values + (v + 1) * vs;
            const float* a = values + static_cast<std::size_t>(nb[2 * v]) * vs;
            const float* b = values + static_cast<std::size_t>(nb[2 * v + 1]) * vs;
            float* dst = scratch + (v + 1) * vs;
            for (int c = 0; c < vs; ++c) dst[c] = centre[c] + 0.5f * (a[c] + b[c]);
        }
        std::swap(values, scratch);
    }

    // Slice: read back with the same weights, times the scale alpha that makes
    // the lattice filter match the Gaussian's (Adams et al. 2010).
    const float alpha = 1.0f / (1.0f + std::pow(2.0f, static_cast<float>(-lat.dim)));
    // pydensecrf multiplies (w*value)*alpha for 1-2 channels and (w*alpha)*value
    // for more; mirrored so results agree to the last bit.
    const bool narrow = vs <= 2;
    for (int p = 0; p < lat.num_points; ++p) {
        float* dst = out + static_cast<std::size_t>(p) * vs;
        for (int c = 0; c < vs; ++c) dst[c] = 0.0f;
        const std::size_t base = static_cast<std::size_t>(p) * d1;
        for (int j = 0; j < d1; ++j) {
            const float* src = values + static_cast<std::size_t>(lat.vertex[base + j]) * vs;
            const float w = lat.weight[base + j];
            if (narrow) {
                for (int c = 0; c < vs; ++c) dst[c] += (w * src[c]) * alpha;
            } else {
                const float wa = w * alpha;
                for (int c = 0; c < vs; ++c) dst[c] += wa * src[c];
            }
        }
    }
}

// Picks the compile-time specialisation for 1..kMax channels, else the generic one.
template <int kMax>
void dispatch_filter(const LatticeView& lat, float* out, const float* in, int value_size, bool reverse, float* values,
                     float* scratch) {
    if constexpr (kMax == 0) {
        filter_values<0>(lat, out, in, value_size, reverse, values, scratch);
    } else {
        if (value_size == kMax)
            filter_values<kMax>(lat, out, in, value_size, reverse, values, scratch);
        else
            dispatch_filter<kMax - 1>(lat, out, in, value_size, reverse, values, scratch);
    }
}

}  // namespace

void PermutohedralLattice::compute(float* out, const float* in, int value_size, bool reverse,
                                   LatticeWorkspace& workspace) const {
    if (num_points_ == 0) throw Error("permutohedral lattice: compute() called before init()");
    if (value_size <= 0 || out == nullptr || in == nullptr)
        throw Error("permutohedral lattice: need value_size >= 1 and non-null buffers (got value_size " +
                    std::to_string(value_size) + ")");
    // Slot 0 holds zeros for missing neighbours; slots 1..M the lattice vertices.
    const std::size_t size = (static_cast<std::size_t>(num_vertices_) + 1) * value_size;
    workspace.values.assign(size, 0.0f);
    workspace.blurred.resize(size);
    for (int c = 0; c < value_size; ++c) workspace.blurred[c] = 0.0f;

    const LatticeView view{num_points_, dim_, static_cast<std::size_t>(num_vertices_), vertex_.data(),
                           weight_.data(), neighbours_.data()};
    dispatch_filter<16>(view, out, in, value_size, reverse, workspace.values.data(), workspace.blurred.data());
}

void PermutohedralLattice::compute(float* out, const float* in, int value_size, bool reverse) const {
    LatticeWorkspace workspace;
    compute(out, in, value_size, reverse, workspace);
}

}  // namespace zgseg::densecrf
