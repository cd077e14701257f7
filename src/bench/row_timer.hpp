// Times one row of `zgseg bench`: repetitions until --repeat or the
// per-stage time budget, with the process's peak resident memory and, on
// CUDA, the caching allocator's peak per stage.
#pragma once

#include <nlohmann/json.hpp>

#include "bench/rows.hpp"

namespace zgseg::bench {

// Runs `row` (already prepared) and returns its report row ("kind": "timed").
nlohmann::json time_row(Context& c, const Row& row);

}  // namespace zgseg::bench
