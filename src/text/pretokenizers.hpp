// Pre-tokenizers: split (normalised) text into the words that the models
// encode one by one. Hand-written scanners equivalent to the reference
// regular expressions, on the Unicode tables of text/unicode.hpp; the golden
// test checks the GPT-2 and CLIP scanners against the same patterns run by PCRE2.
#pragma once

#include <string_view>
#include <vector>

namespace zgseg {

// GPT-2 (Hugging Face ByteLevel, use_regex): the matches of
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// which cover the whole text.
void split_gpt2(std::string_view text, std::vector<std::string_view>& words);

// CLIP (after lower-casing): the matches of
//   's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// white space between them is dropped. (The reference pattern also lists
// <|startoftext|> and <|endoftext|>; the byte-level split that follows it in
// Hugging Face cuts such a piece into "<|", the word and "|>" again, which is
// what this scanner yields directly.)
void split_clip(std::string_view text, std::vector<std::string_view>& words);

// BERT (BertPreTokenizer): split on white space (dropped) and isolate every
// punctuation character (ASCII punctuation or Unicode category P).
void split_bert(std::string_view text, std::vector<std::string_view>& words);

}  // namespace zgseg
