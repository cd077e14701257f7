// Peak resident memory of this process for the tests: the library's
// bench/process_memory.hpp under the names the tests use.
#pragma once

#include "bench/process_memory.hpp"

namespace zgseg::test {

inline void reset_peak_rss() { bench::reset_peak_rss(); }
inline std::size_t peak_rss_bytes() { return bench::peak_rss_bytes(); }

}  // namespace zgseg::test
