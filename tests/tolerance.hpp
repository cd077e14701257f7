// The golden tests' tolerances: src/core/tolerance.hpp (shared with `zgseg selftest`).
#pragma once

#include "core/tolerance.hpp"

namespace zgseg::testing {
using namespace zgseg::tolerance;
}  // namespace zgseg::testing
