// Cosine ranking of many stored embeddings against one query: the inner loop
// of `zgseg search`. Rows are L2-normalised already (the index stores them
// so), so a cosine is one dot product. float16 rows halve the index's size and
// memory traffic; the AVX2/F16C path converts 8 halves per instruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace zgseg::after {

// IEEE float32 → float16 bits, round to nearest even (inf/NaN kept).
uint16_t float_to_half(float value);

// scores[i] = dot(rows[i], query) for n rows of d values; `threads` ≤ 0 means
// all cores. The float16 version uses AVX2+FMA+F16C when the CPU has them.
void dot_rows_f16(const uint16_t* rows, size_t n, size_t d, const float* query, float* scores, int threads = 0);
void dot_rows_f32(const float* rows, size_t n, size_t d, const float* query, float* scores, int threads = 0);

struct Ranked {
    size_t row = 0;
    float score = 0;
};
// The k highest scores, best first; ties go to the lower row (deterministic).
std::vector<Ranked> top_k(const std::vector<float>& scores, size_t k);

// Scales v to unit length (a zero vector stays zero).
void normalize(std::vector<float>& v);

}  // namespace zgseg::after
