// Wall-clock time for logs, timings and reports: one steady clock, read one way.
#pragma once

#include <chrono>

namespace zgseg {

using SteadyClock = std::chrono::steady_clock;

// Seconds from `start` until now.
inline double seconds_since(SteadyClock::time_point start) {
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace zgseg
