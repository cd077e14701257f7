#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "zgseg/runtime.hpp"

namespace zgseg::cli {

void add_logging_options(CLI::App* cmd, CommonOptions& options) {
    cmd->add_flag("-v,--verbose", options.verbose, "More log output (repeat for more)");
    cmd->add_flag("-q,--quiet", options.quiet, "Only warnings and errors on stderr");
}

void add_common_options(CLI::App* cmd, CommonOptions& options) {
    cmd->add_option("--models", options.models,
                    "Model directory (one sub-folder per network, Hugging Face layout); "
                    "default $ZGSEG_MODELS, else ~/.cache/zgseg/models");
    cmd->add_option("--device", options.device, "Where the networks run")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    cmd->add_option("--threads", options.threads, "CPU threads for LibTorch (0: all cores)")->check(CLI::Range(0, 1024));
    add_logging_options(cmd, options);
}

void apply_common_options(const CommonOptions& options) {
    if (options.quiet)
        spdlog::set_level(spdlog::level::warn);
    else if (options.verbose >= 2)
        spdlog::set_level(spdlog::level::trace);
    else if (options.verbose == 1)
        spdlog::set_level(spdlog::level::debug);
    set_cpu_threads(options.threads);
}

}  // namespace zgseg::cli
