// The golden tests' tolerances: src/core/tolerance.hpp (shared with `zgseg selftest`).
#pragma once

#include "core/tolerance.hpp"

#include <cmath>

namespace zgseg::testing {
using namespace zgseg::tolerance;

// A bound worked out by hand for one comparison, with its reasoning where it
// is defined (the ZeroCap and stage-2 checks); constexpr, unlike Tolerance.
struct Bound {
    double atol = 0, rtol = 0;
    double at(double want) const { return atol + rtol * std::abs(want); }
};
}  // namespace zgseg::testing
