// The rows of `zgseg bench` computed from timed ones ("kind": "extrapolated"):
// the full vocabulary cache, one ZeroCap token step and caption, ZeroCap's
// speed-up over the reference's way, one whole image with either captioner.
#pragma once

#include <nlohmann/json.hpp>

#include "bench/context.hpp"

namespace zgseg::bench {

// Appends to `rows` (the timed rows) every derived row whose inputs were timed.
void add_derived_rows(const Context& c, nlohmann::json& rows);

}  // namespace zgseg::bench
