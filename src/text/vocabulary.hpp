// The vocabulary file of the vocabulary captioner (--vocab FILE): one entry a
// line. Here, not beside the captioner, so that it builds without LibTorch
// (the fuzz target tests/fuzz/text_lists.cpp reads it).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace zgseg {

// Non-empty lines, trimmed, without '#' comments, first occurrence kept.
// Throws zgseg::Error naming the file when it is unreadable or has no entry.
std::vector<std::string> read_vocabulary(const std::filesystem::path& path);

}  // namespace zgseg
