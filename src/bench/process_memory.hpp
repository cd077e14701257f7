// Resident memory of this process (Linux, /proc/self/status): the current
// RSS (VmRSS) and its high-water mark (VmHWM), which writing "5" to
// /proc/self/clear_refs resets so that one step's peak can be measured.
#pragma once

#include <cstddef>
#include <fstream>
#include <string>

namespace zgseg::bench {

inline std::size_t status_kib(const char* field) {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == field) {
            std::size_t kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(1 << 20, '\n');
    }
    return 0;
}

inline std::size_t current_rss_bytes() { return status_kib("VmRSS:") * 1024; }
inline std::size_t peak_rss_bytes() { return status_kib("VmHWM:") * 1024; }

// False where the kernel refuses (then the peak is the whole process's so far).
inline bool reset_peak_rss() {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    return static_cast<bool>(clear);
}

}  // namespace zgseg::bench
