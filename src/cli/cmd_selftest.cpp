// `zgseg selftest [--device cuda] [--precision bf16] [--json FILE]`: the bundled
// tiny models through every network and stage 2 on this machine's device,
// compared with the reference libraries' outputs (see zgseg/selftest.hpp).
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/model_dir.hpp"
#include "io/atomic_file.hpp"
#include "zgseg/selftest.hpp"

namespace zgseg::cli {

namespace {

struct SelftestOptions {
    CommonOptions common;
    std::string precision = "fp32";
    std::string data;
    std::string json;
};

nlohmann::json to_json(const SelftestReport& r) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : r.checks)
        checks.push_back({{"name", c.name}, {"passed", c.passed()}, {"max_abs_diff", c.max_abs_diff},
                          {"worst_ratio", c.worst_ratio}, {"atol", c.atol}, {"rtol", c.rtol},
                          {"tolerance", c.tolerance_reason}, {"seconds", c.seconds}, {"error", c.error}});
    return {{"zgseg_version", ZGSEG_VERSION}, {"device", r.device}, {"precision", r.precision},
            {"data", r.data_dir},             {"passed", r.passed()}, {"checks", checks}};
}

int run(const SelftestOptions& o) {
    apply_common_options(o.common);
    const std::filesystem::path data = o.data.empty() ? bundled_selftest_dir() : std::filesystem::path(o.data);
    const SelftestReport report = run_selftest(data, o.common.device, o.precision);
    std::printf("zgseg selftest on %s, %s (data: %s)\n", report.device.c_str(), report.precision.c_str(),
                report.data_dir.c_str());
    std::printf("%-52s %-6s %10s %8s %10s %8s\n", "check", "result", "max diff", "/tol", "rtol", "seconds");
    for (const auto& c : report.checks) {
        std::printf("%-52s %-6s %10.3g %8.3g %10.3g %8.2f\n", c.name.c_str(), c.passed() ? "ok" : "FAIL",
                    c.max_abs_diff, c.worst_ratio, c.rtol, c.seconds);
        if (!c.error.empty()) std::printf("    error: %s\n", c.error.c_str());
    }
    int failed = 0;
    for (const auto& c : report.checks) failed += c.passed() ? 0 : 1;
    std::printf("selftest %s: %zu checks, %d failed\n", failed ? "FAILED" : "passed", report.checks.size(), failed);
    if (!o.json.empty()) write_file_atomic(o.json, to_json(report).dump(2) + "\n", /*overwrite=*/true);
    return failed ? 1 : 0;
}

}  // namespace

Action add_selftest_command(CLI::App& app) {
    auto o = std::make_shared<SelftestOptions>();
    auto* cmd = app.add_subcommand("selftest",
                                   "Check this build on this machine: the bundled tiny models through every network "
                                   "and stage 2, compared with the reference libraries' outputs");
    cmd->add_option("--precision", o->precision, "fp32, or fp16/bf16 on CUDA")
        ->check(CLI::IsMember({"fp32", "fp16", "bf16"}));
    cmd->add_option("--data", o->data, "Folder with nets/ and embedding/ (default: the bundled share/zgseg/selftest)");
    cmd->add_option("--json", o->json, "Also write the report as JSON to this file");
    add_common_options(cmd, o->common);
    return [o] { return run(*o); };
}

}  // namespace zgseg::cli
