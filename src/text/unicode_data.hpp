#pragma once
// Raw Unicode tables generated into unicode_data.cpp (see scripts/gen_unicode_tables.py).
// Use the functions of text/unicode.hpp, not these arrays.
#include <cstddef>
#include <cstdint>

namespace zgseg::unicode_data {

struct LowerEntry {
  std::uint32_t code_point, lower1, lower2;  // lower2 == 0: one-character mapping
};
struct DecompEntry {
  std::uint32_t code_point, first, second;  // second == 0: singleton decomposition
  std::uint8_t composes;                    // 1: NFC recomposes first+second into code_point
};

extern const char* const kUnicodeVersion;
extern const std::uint32_t kCategoryRuns[];
extern const std::size_t kCategoryRuns_size;
extern const LowerEntry kLowercase[];
extern const std::size_t kLowercase_size;
extern const DecompEntry kDecompositions[];
extern const std::size_t kDecompositions_size;
extern const std::uint32_t kCombiningRuns[];
extern const std::size_t kCombiningRuns_size;

}  // namespace zgseg::unicode_data
