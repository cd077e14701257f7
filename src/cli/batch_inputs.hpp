// The inputs of `zgseg batch` and `zgseg status`: a folder (recursive, image
// extensions), a list file (one path a line, relative to the list's folder),
// or "-" (paths on stdin); sorted by path without duplicates, so every shard
// of a batch sees the same list.
#pragma once

#include <string>
#include <vector>

#include "cli/image_runner.hpp"

namespace zgseg::cli {

std::vector<WorkItem> collect_batch_inputs(const std::string& source);

}  // namespace zgseg::cli
