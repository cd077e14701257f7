#include "bench/row_timer.hpp"

#include <torch/torch.h>
// The CUDA caching allocator's statistics through c10's device-allocator
// interface (LibTorch 2.8 and later): no CUDA headers or libraries needed here.
#if __has_include(<c10/core/CachingDeviceAllocator.h>)
#include <c10/core/CachingDeviceAllocator.h>
#define ZGSEG_CUDA_ALLOCATOR_STATS 1
#endif

#include <algorithm>
#include <cstdio>

#include "bench/process_memory.hpp"
#include "core/log.hpp"
#include "core/timing.hpp"

using nlohmann::json;

namespace zgseg::bench {

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void synchronize(const Context& c) {
    if (c.device.is_cuda()) torch::cuda::synchronize();
}

#ifdef ZGSEG_CUDA_ALLOCATOR_STATS
c10::DeviceIndex cuda_index(const Context& c) { return c.device.has_index() ? c.device.index() : 0; }
#endif

void reset_cuda_peak(const Context& c) {
#ifdef ZGSEG_CUDA_ALLOCATOR_STATS
    if (c.device.is_cuda()) c10::getDeviceAllocator(c10::DeviceType::CUDA)->resetPeakStats(cuda_index(c));
#else
    (void)c;
#endif
}

// Peak bytes allocated on the GPU since the last reset_cuda_peak; -1 when not on CUDA or unknown.
double cuda_peak_bytes(const Context& c) {
#ifdef ZGSEG_CUDA_ALLOCATOR_STATS
    if (c.device.is_cuda()) {
        const auto stats = c10::getDeviceAllocator(c10::DeviceType::CUDA)->getDeviceStats(cuda_index(c));
        return static_cast<double>(
            stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak);
    }
#else
    (void)c;
#endif
    return -1;
}

}  // namespace

json time_row(Context& c, const Row& row) {
    std::vector<double> seconds;
    double peak = 0, growth = 0, used = 0, cuda_peak = -1;
    bool peak_is_per_stage = true;
    const int reps = std::max(1, c.o.repeat);
    for (int rep = 0; rep < reps && (rep == 0 || used < c.o.max_stage_seconds); ++rep) {
        synchronize(c);
        peak_is_per_stage = reset_peak_rss() && peak_is_per_stage;
        reset_cuda_peak(c);
        const double before = static_cast<double>(current_rss_bytes());
        const auto start = SteadyClock::now();
        row.run(c, rep);
        synchronize(c);
        const double s = seconds_since(start);
        const double high = static_cast<double>(peak_rss_bytes());
        seconds.push_back(s);
        used += s;
        peak = std::max(peak, high);
        // The last repetition's: the first one also pages in the memory-mapped weights it reads.
        growth = high - before;
        cuda_peak = std::max(cuda_peak, cuda_peak_bytes(c));
        char buf[128];
        std::snprintf(buf, sizeof buf, "bench: %s %d/%d: %.3f s", row.name.c_str(), rep + 1, reps, s);
        log::info(buf);
    }
    const double flop = row.flops ? row.flops(c) : 0.0;
    const double best = *std::min_element(seconds.begin(), seconds.end());
    json j = {{"name", row.name},
              {"title", row.title},
              {"kind", "timed"},
              {"reps", seconds.size()},
              {"seconds", seconds},
              {"min_s", best},
              {"median_s", median(seconds)},
              {"gflop", flop > 0 ? json(flop / 1e9) : json(nullptr)},
              {"gflops_per_s", flop > 0 && best > 0 ? json(flop / 1e9 / best) : json(nullptr)},
              {"peak_rss_mib", peak / 1048576.0},
              {"rss_growth_mib", peak_is_per_stage ? json(growth / 1048576.0) : json(nullptr)},
              {"cuda_peak_mib", cuda_peak >= 0 ? json(cuda_peak / 1048576.0) : json(nullptr)},
              {"note", row.note ? row.note(c) : std::string()},
              {"random_sensitive", row.random_sensitive}};
    return j;
}

}  // namespace zgseg::bench
