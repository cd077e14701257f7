// `zgseg eval`: registered so --help documents it; the implementation lands
// with the evaluation work.
#include <memory>

#include "cli/commands.hpp"
#include "zgseg/error.hpp"

namespace zgseg::cli {

Action add_eval_command(CLI::App& app) {
    auto o = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand("eval", "Score predictions on Pascal VOC / Pascal Context with the paper's protocol "
                                           "(not implemented yet)");
    cmd->allow_extras();
    add_common_options(cmd, *o);
    return [] () -> int { throw Error("'zgseg eval' is not implemented in this version yet"); };
}

}  // namespace zgseg::cli
