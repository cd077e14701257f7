// Never write over an input. Every file a run reads (images, predictions,
// ground truth, list and text files) is registered here before the first
// output is written; every output goes through AtomicFile, which asks this
// registry and refuses — whatever --overwrite says — to replace a registered
// file, whether the output path names it directly, through a symlink, or
// through another hard link (files are compared by device and inode).
#pragma once

#include <filesystem>
#include <optional>

namespace zgseg {

// Remembers `input` (if it exists) as a file no output may replace.
// Thread-safe; registering the same file twice is harmless.
void protect_input(const std::filesystem::path& input);

// The registered input that writing `output` would replace, if any.
std::optional<std::filesystem::path> protected_input_at(const std::filesystem::path& output);

// Throws zgseg::Error if writing `output` would replace a registered input:
// one line naming both paths and suggesting another output folder.
void refuse_output_over_input(const std::filesystem::path& output);

// Forgets every registered input (tests; a long-lived process between jobs).
void clear_protected_inputs();

}  // namespace zgseg
