// Timing and peak memory of ward_linkage at the pipeline's size (a 224 x 334
// image: 109 x 164 = 17,876 descriptors of 384 floats) on three kinds of data.
// DISABLED_ by default (a benchmark, not a check); run by hand:
//   ./bench_ward --gtest_also_run_disabled_tests
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>

#include "cluster/ward.hpp"
#include "unit/ward_test_data.hpp"

namespace {

int64_t status_bytes(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
    return -1;
}

void bench(const char* name, const std::vector<float>& x, int64_t d, int threads = 1) {
    const int64_t n = static_cast<int64_t>(x.size()) / d;
    { std::ofstream("/proc/self/clear_refs") << "5"; }
    const int64_t before = status_bytes("VmHWM");
    zgseg::WardStats stats;
    zgseg::WardOptions options;
    options.threads = threads;
    const auto t0 = std::chrono::steady_clock::now();
    const auto z = zgseg::ward_linkage(x.data(), n, d, options, &stats);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << name << ": n=" << n << " d=" << d << " threads " << threads << " time " << seconds << " s (k-NN " << stats.knn_seconds
              << " s, chain " << stats.chain_seconds << " s), queries " << stats.queries << ", rescans "
              << stats.full_scans << ", peak growth " << (status_bytes("VmHWM") - before) / 1e6
              << " MB, root height " << z.back().height << "\n";
}

constexpr int64_t kH = 109, kW = 164, kD = 384;

TEST(WardBench, DISABLED_DinoShaped) {
    const std::vector<float> x = ward_test::dinolike(kH, kW, kD, 8, 1);
    bench("dino-shaped", x, kD);
    bench("dino-shaped", x, kD, 2);
}
TEST(WardBench, DISABLED_Blobs) { bench("12 blobs", ward_test::blobs(kH * kW, kD, 12, 0.6f, 2), kD); }
TEST(WardBench, DISABLED_IsotropicUnit) { bench("isotropic", ward_test::random_unit(kH * kW, kD, 3), kD); }

}  // namespace
