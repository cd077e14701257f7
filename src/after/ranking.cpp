#include "after/ranking.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ZGSEG_X86 1
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <thread>

#include "core/safetensors.hpp"

namespace zgseg::after {

namespace {

// Splits [0, n) over threads; each part at least 4096 rows (thread start-up
// costs more than a few thousand dot products).
void parallel_rows(size_t n, int threads, const std::function<void(size_t, size_t)>& work) {
    size_t t = threads > 0 ? static_cast<size_t>(threads) : std::max(1u, std::thread::hardware_concurrency());
    t = std::max<size_t>(1, std::min(t, n / 4096));
    if (t == 1) {
        work(0, n);
        return;
    }
    std::vector<std::thread> pool;
    const size_t chunk = (n + t - 1) / t;
    for (size_t b = 0; b < n; b += chunk) pool.emplace_back(work, b, std::min(n, b + chunk));
    for (auto& th : pool) th.join();
}

void dot_f16_scalar(const uint16_t* rows, size_t begin, size_t end, size_t d, const float* q, float* scores) {
    for (size_t i = begin; i < end; ++i) {
        const uint16_t* r = rows + i * d;
        float acc = 0;
        for (size_t j = 0; j < d; ++j) acc += half_to_float(r[j]) * q[j];
        scores[i] = acc;
    }
}

#ifdef ZGSEG_X86
__attribute__((target("avx2,fma,f16c"))) float hsum(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

__attribute__((target("avx2,fma,f16c"))) void dot_f16_avx2(const uint16_t* rows, size_t begin, size_t end, size_t d,
                                                            const float* q, float* scores) {
    const size_t d16 = d / 16 * 16;
    for (size_t i = begin; i < end; ++i) {
        const uint16_t* r = rows + i * d;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (size_t j = 0; j < d16; j += 16) {
            const __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r + j)));
            const __m256 x1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r + j + 8)));
            a0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(q + j), a0);
            a1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(q + j + 8), a1);
        }
        float acc = hsum(_mm256_add_ps(a0, a1));
        for (size_t j = d16; j < d; ++j) acc += half_to_float(r[j]) * q[j];
        scores[i] = acc;
    }
}

bool has_avx2_f16c() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");  // every AVX2 CPU has F16C
    return yes;
}
#else
bool has_avx2_f16c() { return false; }
void dot_f16_avx2(const uint16_t* rows, size_t begin, size_t end, size_t d, const float* q, float* scores) {
    dot_f16_scalar(rows, begin, end, d, q, scores);
}
#endif

}  // namespace

uint16_t float_to_half(float value) {
    uint32_t x;
    std::memcpy(&x, &value, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t exp = (x >> 23) & 0xffu;
    uint32_t mant = x & 0x7fffffu;
    if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));  // inf / NaN
    int e = static_cast<int>(exp) - 127 + 15;
    if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow → inf
    if (e <= 0) {  // subnormal half (or zero)
        if (e < -10) return static_cast<uint16_t>(sign);
        mant |= 0x800000u;
        const int shift = 14 - e;
        uint32_t h = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) ++h;
        return static_cast<uint16_t>(sign | h);
    }
    uint32_t h = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;  // may carry into the exponent: still correct
    return static_cast<uint16_t>(sign | h);
}

void dot_rows_f16(const uint16_t* rows, size_t n, size_t d, const float* query, float* scores, int threads) {
    const bool simd = has_avx2_f16c();
    parallel_rows(n, threads, [&](size_t b, size_t e) {
        if (simd)
            dot_f16_avx2(rows, b, e, d, query, scores);
        else
            dot_f16_scalar(rows, b, e, d, query, scores);
    });
}

void dot_rows_f32(const float* rows, size_t n, size_t d, const float* query, float* scores, int threads) {
    parallel_rows(n, threads, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) scores[i] = std::inner_product(query, query + d, rows + i * d, 0.0f);
    });
}

std::vector<Ranked> top_k(const std::vector<float>& scores, size_t k) {
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    // NaN (a corrupt embedding) ranks last instead of breaking the ordering.
    const auto value = [&](size_t i) { return std::isnan(scores[i]) ? -INFINITY : scores[i]; };
    const auto better = [&](size_t a, size_t b) { return value(a) > value(b) || (value(a) == value(b) && a < b); };
    k = std::min(k, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), better);
    std::vector<Ranked> out;
    for (size_t i = 0; i < k; ++i) out.push_back({order[i], scores[order[i]]});
    return out;
}

void normalize(std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += static_cast<double>(x) * x;
    if (s <= 0) return;
    const float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (auto& x : v) x *= inv;
}

}  // namespace zgseg::after
