// Readers for tokenizer files (vocab.json, merges.txt, vocab.txt, JSON
// configs, gzip). Every failure throws zgseg::Error naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace zgseg {

using TokenIdMap = std::unordered_map<std::string, std::int32_t>;
using MergeList = std::vector<std::pair<std::string, std::string>>;

std::string read_text_file(const std::filesystem::path& path);
std::string read_gzip_file(const std::filesystem::path& path);
nlohmann::json read_json_file(const std::filesystem::path& path);

// vocab.json: {"token": id, ...}.
TokenIdMap read_vocab_json(const std::filesystem::path& path);
// merges.txt: optional "#version" first line, then "left right" per line.
// source names the file in error messages.
MergeList parse_merges(std::string_view text, const std::string& source);
inline MergeList read_merges_txt(const std::filesystem::path& path) {
    return parse_merges(read_text_file(path), path.string());
}
// vocab.txt: one token per line, id = line index (a later duplicate wins, as in
// transformers' load_vocab). Returns the tokens in id order.
std::vector<std::string> read_vocab_txt(const std::filesystem::path& path);

}  // namespace zgseg
