// What a benchmark ran on: CPU model and cores, LibTorch version, BLAS, the
// thread count, the OS, CUDA, and the load average. No LibTorch in this header.
#pragma once

#include <nlohmann/json.hpp>

namespace zgseg::bench {

nlohmann::json machine_info();
// The 1-, 5- and 15-minute load averages (/proc/loadavg); empty when unknown.
nlohmann::json load_average();

}  // namespace zgseg::bench
