// zgseg — zero-guidance segmentation: segment any image and name every region.
//
// Exit codes: 0 success; 1 runtime error (bad input file, missing model, a
// failed item in a batch); 2 usage error (unknown flag, bad flag value);
// 75 stopped by SIGTERM / SIGINT (segment, batch: rerun with --resume); a
// second signal ends the process at once with 128 + the signal's number.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <vector>

#include "cli/commands.hpp"
#include "zgseg/error.hpp"
#include "zgseg/runtime.hpp"

namespace {

const char* kSubcommands[] = {"segment",  "batch",  "status", "eval",  "tokenize", "inspect",
                              "bench",    "selftest", "report", "search", "index",    "export"};

// `zgseg photo.jpg -o out/` means `zgseg segment photo.jpg -o out/`.
std::vector<std::string> with_default_subcommand(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0].empty() || args[0][0] == '-') return args;
    for (const char* name : kSubcommands)
        if (args[0] == name) return args;
    args.insert(args.begin(), "segment");
    return args;
}

}  // namespace

int main(int argc, char** argv) {
    // Logs go to stderr: stdout is for machine-readable output (tokenize, eval tables).
    spdlog::set_default_logger(spdlog::stderr_color_mt("zgseg"));
    spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");

    CLI::App app{"zgseg " ZGSEG_VERSION
                 " — segment any image into regions and name every region in free text, with no class list "
                 "(Zero-guidance Segmentation Using Zero Segment Labels, ICCV 2023).\n"
                 "Exit codes: 0 ok, 1 runtime error, 2 usage error, 75 stopped by SIGTERM/SIGINT "
                 "(rerun with --resume).",
                 "zgseg"};
    app.option_defaults()->always_capture_default();
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("zgseg ") + ZGSEG_VERSION + " (LibTorch " + zgseg::torch_version() + ")");
    app.footer("Run `zgseg SUBCOMMAND --help` for the options of each subcommand. "
               "`zgseg IMAGE... -o OUT` is short for `zgseg segment IMAGE... -o OUT`.");

    std::map<CLI::App*, zgseg::cli::Action> actions;
    auto remember = [&](zgseg::cli::Action action) { actions[app.get_subcommands({}).back()] = std::move(action); };
    remember(zgseg::cli::add_segment_command(app));
    remember(zgseg::cli::add_batch_command(app));
    remember(zgseg::cli::add_status_command(app));
    remember(zgseg::cli::add_eval_command(app));
    remember(zgseg::cli::add_tokenize_command(app));
    remember(zgseg::cli::add_inspect_command(app));
    remember(zgseg::cli::add_bench_command(app));
    remember(zgseg::cli::add_selftest_command(app));
    remember(zgseg::cli::add_report_command(app));
    remember(zgseg::cli::add_search_command(app));
    remember(zgseg::cli::add_index_command(app));
    remember(zgseg::cli::add_export_command(app));

    auto args = with_default_subcommand(argc, argv);
    std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
    try {
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);  // prints help/version or the usage error
        return code == 0 ? 0 : 2;
    }

    try {
        for (auto& [cmd, action] : actions)
            if (cmd->parsed()) return action();
        return 2;
    } catch (const zgseg::UsageError& e) {
        spdlog::error("{}", e.what());
        return 2;
    } catch (const zgseg::Error& e) {
        spdlog::error("{}", e.what());
        return 1;
    } catch (const std::exception& e) {
        spdlog::error("internal error: {} (please report this with the command line that caused it)", e.what());
        return 1;
    }
}
