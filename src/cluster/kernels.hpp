// Inner loops of the clustering code: squared Euclidean distances in double
// and a float32 dot-product tile. They are the only hot spots of stage 1's
// clustering, so they are written with GCC/Clang vector extensions and
// compiled twice (AVX2 and baseline x86-64) with a run-time pick; the two
// builds give bit-identical results because FP contraction is off
// (ISO C++ mode) and the summation order is fixed by the code, not the ISA.
//
// Rows are padded: every row has `stride` elements, a multiple of
// kRowAlign, the tail filled with zeros (zeros change neither distances nor
// dot products).
#pragma once

#include <cstdint>

namespace zgseg::cluster {

constexpr int64_t kRowAlign = 8;

inline int64_t padded_width(int64_t d) { return (d + kRowAlign - 1) / kRowAlign * kRowAlign; }

// sum_k (a[k] - b[k])^2 over `stride` doubles. Symmetric bit for bit in (a, b).
double squared_distance(const double* a, const double* b, int64_t stride);

// sum_k a[k] * b[k] over `stride` doubles.
double dot(const double* a, const double* b, int64_t stride);

// out[t] = squared_distance(q, rows + ids[t] * stride) for t < count.
void squared_distances(const double* q, const double* rows, int64_t stride,
                       const int32_t* ids, int64_t count, double* out);

// out[r] = sum_k (q[k] - rows[r * stride + k])^2 in float32 for r < count
// (contiguous rows). Each lane sums stride/8 terms, then 5 levels of pairs.
void squared_distances_f32(const float* q, const float* rows, int64_t stride, int64_t count, float* out);

// out[i * ldo + j] = dot(a_i, b_j) in float32 for i < na, j < nb.
// a: (na, stride), b: (nb, stride), both row-major float32.
void dot_tile(const float* a, int64_t na, const float* b, int64_t nb, int64_t stride,
              float* out, int64_t ldo);

}  // namespace zgseg::cluster
