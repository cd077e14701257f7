// GPT-2 byte-level BPE tokenizer from Hugging Face vocab.json + merges.txt,
// with the ids of transformers' GPT2Tokenizer: tokenizer(text)["input_ids"]
// (no special tokens added; "<|endoftext|>" written in the text is that token).
// All methods are const and safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "text/added_tokens.hpp"
#include "text/byte_bpe.hpp"

namespace zgseg {

class Gpt2Tokenizer {
public:
    Gpt2Tokenizer(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);
    // folder/vocab.json and folder/merges.txt.
    static Gpt2Tokenizer from_folder(const std::filesystem::path& folder);

    // text must be valid UTF-8 (else zgseg::Error).
    std::vector<std::int32_t> encode(std::string_view text) const;
    // The bytes the ids stand for: decode_bytes(encode(s)) == s for every s.
    std::string decode_bytes(const std::vector<std::int32_t>& ids) const;
    // As transformers' decode(ids): ill-formed UTF-8 (a token sequence cut
    // inside a character) becomes U+FFFD; no clean-up of spaces.
    std::string decode(const std::vector<std::int32_t>& ids) const;

    std::int32_t end_of_text_id() const { return end_of_text_id_; }
    std::size_t id_limit() const { return bpe_.id_limit(); }

private:
    BytePairEncoder bpe_;
    AddedTokenMatcher added_;
    std::int32_t end_of_text_id_ = -1;
};

// transformers 4.x's clean_up_tokenization, which its decode applied by
// default (the reference ZeroCap ran on it): " ." → ".", " ?" → "?", " !" → "!",
// " ," → ",", " ' " → "'", " n't" → "n't", " 'm" → "'m", " 's" → "'s",
// " 've" → "'ve", " 're" → "'re", each replaced left to right in that order.
std::string clean_up_tokenization(std::string text);

}  // namespace zgseg
