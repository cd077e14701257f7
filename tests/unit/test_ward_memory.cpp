// Peak memory of ward_linkage, measured as the growth of this process's peak
// resident set (VmHWM) across one call at n = 6000, d = 384: it must stay
// within the documented ward_linkage_bytes() (plus allocator slack) and below
// one float32 condensed distance matrix (72 MB here; scipy needs twice that in
// float64; the ratio improves with n: ~12 n d bytes against 2 n^2). Runs in
// its own executable so earlier tests do not set the peak.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <string>

#include "cluster/ward.hpp"
#include "unit/ward_test_data.hpp"

namespace {

// A field of /proc/self/status in bytes, -1 if unavailable.
int64_t status_bytes(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
    return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0); false where not allowed.
bool reset_peak() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

TEST(WardMemory, PeakStaysWithinDocumentedBudget) {
    const int64_t n = 6000, d = 384;
    const std::vector<float> x = ward_test::blobs(n, d, 12, 0.5f, 99);
    if (status_bytes("VmHWM") < 0) GTEST_SKIP() << "/proc/self/status has no VmHWM on this system";
    const bool reset = reset_peak();
    const int64_t before = reset ? status_bytes("VmHWM") : status_bytes("VmRSS");
    const auto z = zgseg::ward_linkage(x.data(), n, d);
    const int64_t peak = status_bytes("VmHWM");
    ASSERT_EQ(static_cast<int64_t>(z.size()), n - 1);

    const int64_t growth = peak - before;
    const int64_t documented = zgseg::ward_linkage_bytes(n, d);
    const int64_t condensed_f32 = n * (n - 1) / 2 * 4;
    std::cout << "peak growth " << growth / 1e6 << " MB (VmHWM " << (reset ? "reset" : "not reset")
              << "), documented " << documented / 1e6 << " MB, float32 condensed matrix " << condensed_f32 / 1e6
              << " MB\n";
    EXPECT_LE(growth, documented + documented / 4 + (4 << 20));
    EXPECT_LT(growth, condensed_f32);
}

}  // namespace
