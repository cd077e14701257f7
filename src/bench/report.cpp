// The report as text (no LibTorch here).
#include <cstdio>

#include "bench/bench.hpp"

using nlohmann::json;

namespace zgseg::bench {

namespace {

std::string format_seconds(const json& v) {
    if (!v.is_number()) return "–";
    const double s = v.get<double>();
    char buf[32];
    if (s < 1)
        std::snprintf(buf, sizeof buf, "%.1f ms", s * 1000);
    else if (s < 100)
        std::snprintf(buf, sizeof buf, "%.2f s", s);
    else if (s < 600)
        std::snprintf(buf, sizeof buf, "%.0f s", s);
    else if (s < 36000)
        std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
    else
        std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
    return buf;
}

// GFLOP: three significant digits, without an exponent up to 100,000.
std::string format_gflop(const json& v) {
    if (!v.is_number()) return "–";
    const double x = v.get<double>();
    char buf[32];
    std::snprintf(buf, sizeof buf, x < 10 ? "%.3g" : x < 1e5 ? "%.0f" : "%.3g", x);
    return buf;
}

std::string format_number(const json& v, const char* format) {
    if (!v.is_number()) return "–";
    char buf[32];
    std::snprintf(buf, sizeof buf, format, v.get<double>());
    return buf;
}

}  // namespace

std::string format_report(const json& r) {
    const auto& m = r["machine"];
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof buf, "zgseg bench %s — %s, %d logical cores, %d LibTorch threads, device %s\n",
                  r["zgseg_version"].get<std::string>().c_str(), m["cpu"].get<std::string>().c_str(),
                  m["logical_cores"].get<int>(), m["torch_threads"].get<int>(), m["device"].get<std::string>().c_str());
    out += buf;
    out += "LibTorch " + m["libtorch"].get<std::string>() + ", BLAS " + m["blas"].get<std::string>() + ", " +
           m["os"].get<std::string>() + "\n";
    auto loads = [](const json& l) {
        return l.size() == 3 ? format_number(l[0], "%.2f") + " " + format_number(l[1], "%.2f") + " " +
                                   format_number(l[2], "%.2f")
                             : std::string("unknown");
    };
    out += "load average at start: " + loads(r["load_average_start"]) + "; at end: " + loads(r["load_average_end"]) + "\n";
    const auto& models = r["models"];
    out += "models: " + models["folder"].get<std::string>() +
           (models["random_weights"].get<bool>() ? " (random weights, " + models["size"].get<std::string>() + " size)"
                                                 : std::string(" (as given)")) +
           "; image: " + r["image"]["path"].get<std::string>() + "\n";
    const auto& s = r["settings"];
    std::snprintf(buf, sizeof buf,
                  "up to %d repetitions per stage (fewer once a stage has used %.0f s); fp32; peak RSS of the run %.0f MiB\n\n",
                  s["repeat"].get<int>(), s["max_stage_seconds"].get<double>(), r["peak_rss_mib"].get<double>());
    out += buf;

    const bool cuda = m["device"] == "cuda";
    out += std::string("| stage | reps | min | median | GFLOP | GFLOP/s | peak RSS MiB | RSS growth MiB | ") +
           (cuda ? "CUDA peak MiB | " : "") + "note |\n";
    out += std::string("|---|---|---|---|---|---|---|---|") + (cuda ? "---|" : "") + "---|\n";
    for (const auto& row : r["rows"]) {
        const bool extrapolated = row["kind"] == "extrapolated";
        out += "| " + row["name"].get<std::string>() + (extrapolated ? " *" : "") + " | " +
               (extrapolated ? std::string("–") : std::to_string(row["reps"].get<int>())) + " | " +
               format_seconds(row["min_s"]) + " | " + format_seconds(row["median_s"]) + " | " +
               format_gflop(row["gflop"]) + " | " + format_gflop(row["gflops_per_s"]) + " | " +
               format_number(row["peak_rss_mib"], "%.0f") + " | " + format_number(row["rss_growth_mib"], "%.0f") +
               " | " + (cuda ? format_number(row["cuda_peak_mib"], "%.0f") + " | " : std::string()) +
               (row["random_sensitive"].get<bool>() ? "† " : "") + row["note"].get<std::string>() + " |\n";
    }
    out += "\n* extrapolated from the timed rows, not timed itself.\n";
    if (!r["random_weights"].empty()) {
        out += "† depends on the weight values; random weights make it unrepresentative:\n";
        for (const auto& note : r["random_weights"]) out += "  - " + note.get<std::string>() + "\n";
    }
    out += "FLOPs are counted analytically (2 per multiply-add, matrix products only; src/bench/flops.hpp).\n"
           "Peak RSS: the whole process's high-water mark during the stage (network weights are memory-mapped and "
           "count once read); RSS growth: that peak minus the resident size before the stage's last repetition.\n";
    return out;
}

}  // namespace zgseg::bench
