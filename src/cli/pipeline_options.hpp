#pragma once

#include <CLI/CLI.hpp>

#include "zgseg/params.hpp"

namespace zgseg::cli {

// Registers every stage hyper-parameter of the decisions table on `cmd`.
void add_pipeline_options(CLI::App* cmd, PipelineParams& params, std::string& preset);
// Applies --preset after parsing (explicitly given flags win over the preset).
void apply_preset(CLI::App* cmd, PipelineParams& params, const std::string& preset);

}  // namespace zgseg::cli
