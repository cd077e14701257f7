// Tolerances of the golden tests and of `zgseg selftest`, derived from
// floating-point rounding rather than from the largest difference one machine
// happened to show.
//
// Why results differ between machines at all: MKL, oneDNN and ATen pick other
// kernels for AVX2 and AVX-512 and split reductions differently with other
// thread counts, so a float32 sum of n terms is rounded in another order. With
// rounding errors of random sign a length-n sum is off by about sqrt(n)·u of
// the magnitude of its terms (u = unit roundoff; the worst case n·u is not seen
// in practice), and a chain of k such reductions (the layers of a network)
// adds k of them, again with random signs: sqrt(k·n)·u. Every tolerance below
// is that estimate times a safety factor of 8 (the tail over the thousands of
// values compared), applied to the magnitude of the values compared:
//
//   |got − want| ≤ atol + rtol·|want|,   rtol = 8·sqrt(k·n)·u,   atol = rtol·max|want|
//
// atol covers the entries near zero, whose error comes from the large terms
// they were summed from, not from their own size.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace zgseg::tolerance {

constexpr double kFloat32Roundoff = 0x1p-24;  // 5.96e-8
constexpr double kSafety = 8;

struct Tolerance {
    double atol = 0, rtol = 0;
    std::string why;  // printed with the result: where the numbers come from
};

// `chain` reductions in sequence, the longest of `length` terms, float32,
// values up to `magnitude`.
inline Tolerance float32_chain(int chain, int length, double magnitude, std::string why) {
    const double rtol = kSafety * std::sqrt(double(chain) * double(length)) * kFloat32Roundoff;
    return {rtol * magnitude, rtol, std::move(why)};
}

// A transformer of `layers` blocks: per block about 8 reductions in sequence
// (LayerNorm, Q/K/V projection, QKᵀ, softmax, A·V, output projection,
// LayerNorm, the two MLP matrices count as one chain step each, minus overlap),
// the longest over `longest` terms (MLP width, or the sequence length if longer),
// plus the embedding and the final norm/projection.
inline Tolerance float32_transformer(int layers, int longest, double magnitude, std::string why) {
    return float32_chain(8 * layers + 2, longest, magnitude, std::move(why));
}

// The cosine of two unit vectors of `dim` float32 entries (normalising and
// the dot product: two dim-term sums), e.g. a vector with itself: 1 ± atol.
inline Tolerance float32_cosine(int dim) {
    return float32_chain(2, dim, 1.0, "normalise and dot " + std::to_string(dim) + " float32 terms");
}

// Worst |got − want| / (atol + rtol·|want|) over paired values (≤ 1 passes),
// and the largest absolute difference, for the printed report.
struct Closeness {
    double max_abs_diff = 0, worst_ratio = 0;
    bool ok() const { return worst_ratio <= 1.0; }
};

inline Closeness closeness(const std::vector<double>& got, const std::vector<double>& want, const Tolerance& t) {
    Closeness c;
    if (got.size() != want.size()) return {INFINITY, INFINITY};
    for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::abs(got[i] - want[i]);
        if (std::isnan(d)) return {INFINITY, INFINITY};
        c.max_abs_diff = std::max(c.max_abs_diff, d);
        c.worst_ratio = std::max(c.worst_ratio, d / (t.atol + t.rtol * std::abs(want[i])));
    }
    return c;
}

inline void print_closeness(const std::string& what, const Closeness& c, const Tolerance& t) {
    std::printf("%s: max abs diff %.3g, worst diff/tolerance %.3g (atol %.3g, rtol %.3g: %s)\n", what.c_str(),
                c.max_abs_diff, c.worst_ratio, t.atol, t.rtol, t.why.c_str());
}

}  // namespace zgseg::tolerance
