// Peak resident memory of this process (Linux): VmHWM from /proc/self/status,
// resettable through /proc/self/clear_refs so one test can measure one step.
#pragma once

#include <cstddef>
#include <fstream>
#include <string>

namespace zgseg::test {

inline void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

inline std::size_t peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmHWM:") {
            std::size_t kib = 0;
            status >> kib;
            return kib * 1024;
        }
        status.ignore(1 << 20, '\n');
    }
    return 0;
}

}  // namespace zgseg::test
