#include "cluster/kernels.hpp"

#include <cstring>

// Two builds of each hot function (AVX2 and baseline), chosen at load time.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(ZGSEG_NO_CLONES)
#define ZGSEG_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ZGSEG_CLONES
#endif

// The 32-byte vector helpers below are always inlined, so no function
// boundary passes them by value: GCC's ABI note about AVX vectors is moot.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ZGSEG_INLINE inline __attribute__((always_inline))
#else
#define ZGSEG_INLINE inline
#endif

namespace zgseg::cluster {
namespace {

typedef float v8f __attribute__((vector_size(32)));
typedef double v4d __attribute__((vector_size(32)));

ZGSEG_INLINE v8f load8(const float* p) {
    v8f v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

ZGSEG_INLINE v4d load4(const double* p) {
    v4d v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

ZGSEG_INLINE float hsum(v8f v) {
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

ZGSEG_INLINE double hsum(v4d v) { return (v[0] + v[1]) + (v[2] + v[3]); }

// Fixed summation order: four 4-lane accumulators over blocks of 16, then a
// 2-accumulator tail of 8 (stride is a multiple of 8).
ZGSEG_INLINE double squared_distance_inline(const double* a, const double* b, int64_t stride) {
    v4d s0 = {}, s1 = {}, s2 = {}, s3 = {};
    int64_t k = 0;
    for (; k + 16 <= stride; k += 16) {
        v4d d0 = load4(a + k) - load4(b + k);
        v4d d1 = load4(a + k + 4) - load4(b + k + 4);
        v4d d2 = load4(a + k + 8) - load4(b + k + 8);
        v4d d3 = load4(a + k + 12) - load4(b + k + 12);
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    if (k < stride) {
        v4d d0 = load4(a + k) - load4(b + k);
        v4d d1 = load4(a + k + 4) - load4(b + k + 4);
        s0 += d0 * d0;
        s1 += d1 * d1;
    }
    return hsum((s0 + s1) + (s2 + s3));
}

ZGSEG_INLINE double dot_inline(const double* a, const double* b, int64_t stride) {
    v4d s0 = {}, s1 = {};
    for (int64_t k = 0; k < stride; k += 8) {
        s0 += load4(a + k) * load4(b + k);
        s1 += load4(a + k + 4) * load4(b + k + 4);
    }
    return hsum(s0 + s1);
}

ZGSEG_INLINE float squared_distance_f32_inline(const float* a, const float* b, int64_t stride) {
    v8f s0 = {}, s1 = {}, s2 = {}, s3 = {};
    int64_t k = 0;
    for (; k + 32 <= stride; k += 32) {
        v8f d0 = load8(a + k) - load8(b + k);
        v8f d1 = load8(a + k + 8) - load8(b + k + 8);
        v8f d2 = load8(a + k + 16) - load8(b + k + 16);
        v8f d3 = load8(a + k + 24) - load8(b + k + 24);
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; k < stride; k += 8) {
        v8f d0 = load8(a + k) - load8(b + k);
        s0 += d0 * d0;
    }
    return hsum((s0 + s1) + (s2 + s3));
}

// MI rows of a against MJ rows of b: MI*MJ 8-lane accumulators held in registers.
template <int MI, int MJ>
ZGSEG_INLINE void micro_tile(const float* a, const float* b, int64_t stride, float* out, int64_t ldo) {
    v8f acc[MI][MJ] = {};
    for (int64_t k = 0; k < stride; k += 8) {
        v8f bv[MJ];
        for (int j = 0; j < MJ; ++j) bv[j] = load8(b + j * stride + k);
        for (int i = 0; i < MI; ++i) {
            const v8f av = load8(a + i * stride + k);
            for (int j = 0; j < MJ; ++j) acc[i][j] += av * bv[j];
        }
    }
    for (int i = 0; i < MI; ++i)
        for (int j = 0; j < MJ; ++j) out[i * ldo + j] = hsum(acc[i][j]);
}

template <int MI>
ZGSEG_INLINE void row_strip(const float* a, const float* b, int64_t nb, int64_t stride, float* out,
                            int64_t ldo) {
    int64_t j = 0;
    for (; j + 4 <= nb; j += 4) micro_tile<MI, 4>(a, b + j * stride, stride, out + j, ldo);
    switch (nb - j) {
        case 3: micro_tile<MI, 3>(a, b + j * stride, stride, out + j, ldo); break;
        case 2: micro_tile<MI, 2>(a, b + j * stride, stride, out + j, ldo); break;
        case 1: micro_tile<MI, 1>(a, b + j * stride, stride, out + j, ldo); break;
        default: break;
    }
}

}  // namespace

ZGSEG_CLONES double squared_distance(const double* a, const double* b, int64_t stride) {
    return squared_distance_inline(a, b, stride);
}

ZGSEG_CLONES double dot(const double* a, const double* b, int64_t stride) { return dot_inline(a, b, stride); }

ZGSEG_CLONES void squared_distances(const double* q, const double* rows, int64_t stride,
                                    const int32_t* ids, int64_t count, double* out) {
    for (int64_t t = 0; t < count; ++t) out[t] = squared_distance_inline(q, rows + ids[t] * stride, stride);
}

ZGSEG_CLONES void squared_distances_f32(const float* q, const float* rows, int64_t stride, int64_t count,
                                        float* out) {
    for (int64_t r = 0; r < count; ++r) out[r] = squared_distance_f32_inline(q, rows + r * stride, stride);
}

ZGSEG_CLONES void dot_tile(const float* a, int64_t na, const float* b, int64_t nb, int64_t stride,
                           float* out, int64_t ldo) {
    int64_t i = 0;
    for (; i + 2 <= na; i += 2) row_strip<2>(a + i * stride, b, nb, stride, out + i * ldo, ldo);
    if (i < na) row_strip<1>(a + i * stride, b, nb, stride, out + i * ldo, ldo);
}

}  // namespace zgseg::cluster
