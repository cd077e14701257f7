// The zgseg command line: one file per subcommand; this is the only part of
// the program that parses flags (the library takes params structs).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace zgseg::cli {

// Options every subcommand that runs networks accepts.
struct CommonOptions {
    std::string models;  // --models DIR (else $ZGSEG_MODELS, else ~/.cache/zgseg/models)
    std::string device = "auto";
    int threads = 0;
    int verbose = 0;
    bool quiet = false;
};

void add_common_options(CLI::App* cmd, CommonOptions& options);
void add_logging_options(CLI::App* cmd, CommonOptions& options);
// Sets spdlog's level from -v/--quiet and LibTorch's thread count.
void apply_common_options(const CommonOptions& options);

// Each subcommand registers its flags and returns the action to run after parsing.
using Action = std::function<int()>;
Action add_segment_command(CLI::App& app);
Action add_batch_command(CLI::App& app);
Action add_status_command(CLI::App& app);
Action add_eval_command(CLI::App& app);
Action add_tokenize_command(CLI::App& app);
Action add_inspect_command(CLI::App& app);
Action add_bench_command(CLI::App& app);
Action add_selftest_command(CLI::App& app);
// After the batch (cmd_after.cpp).
Action add_report_command(CLI::App& app);
Action add_search_command(CLI::App& app);
Action add_index_command(CLI::App& app);
Action add_export_command(CLI::App& app);

}  // namespace zgseg::cli
