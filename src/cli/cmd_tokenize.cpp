// `zgseg tokenize --tokenizer {gpt2,clip,sbert} --jsonl`: one JSON string per
// line on stdin → one JSON array of ids per line on stdout (Hugging Face
// `tokenizer(text)["input_ids"]` semantics); --decode reverses it for GPT-2.
#include <memory>

#include "cli/commands.hpp"
#include "zgseg/error.hpp"

namespace zgseg::cli {

Action add_tokenize_command(CLI::App& app) {
    auto o = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand("tokenize", "Tokenize JSON lines from stdin (not implemented yet)");
    cmd->allow_extras();
    add_logging_options(cmd, *o);
    return [] () -> int { throw Error("'zgseg tokenize' is not implemented in this version yet"); };
}

Action add_inspect_command(CLI::App& app) {
    auto o = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand("inspect", "Run one network on an input and write its outputs to safetensors "
                                              "(not implemented yet)");
    cmd->allow_extras();
    add_common_options(cmd, *o);
    return [] () -> int { throw Error("'zgseg inspect' is not implemented in this version yet"); };
}

}  // namespace zgseg::cli
