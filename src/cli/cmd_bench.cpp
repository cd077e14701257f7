// `zgseg bench`: registered so --help documents it; the implementation lands
// with the performance work.
#include <memory>

#include "cli/commands.hpp"
#include "zgseg/error.hpp"

namespace zgseg::cli {

Action add_bench_command(CLI::App& app) {
    auto o = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand("bench", "Time every stage at real model sizes with random weights "
                                            "(not implemented yet)");
    cmd->allow_extras();
    add_common_options(cmd, *o);
    return [] () -> int { throw Error("'zgseg bench' is not implemented in this version yet"); };
}

}  // namespace zgseg::cli
