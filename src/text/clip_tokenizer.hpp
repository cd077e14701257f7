// CLIP BPE tokenizer (byte-level BPE with a "</w>" end-of-word suffix).
//
// Reference: transformers 5 CLIPTokenizer (the Hugging Face `tokenizers`
// pipeline of CLIPTokenizerFast): NFC, white space collapsed, lower-case,
// CLIP's split pattern, <|startoftext|> ... <|endoftext|>.
// OpenAI's own tokenizer (clip.tokenize, used by the paper's code) first runs
// ftfy.fix_text and html.unescape, and lower-cases with Python's str.lower.
// This one does as Hugging Face does, so text that those steps would change
// gets other ids: HTML entities ("&amp;" stays three tokens), curly quotes
// ("it’s" has no "'s" token), ligatures ("ﬁ"), full-width forms ("Ａ"),
// mojibake, and a final capital sigma (σ here, ς in Python). NFC, which ftfy
// also applies, is done. ClipTokenizer.FtfyDifferencesArePinned
// (tests/unit/test_tokenizer_files.cpp) pins these cases.
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

// Input of the CLIP text tower: [<|startoftext|>, tokens..., <|endoftext|>].
struct ClipTokens {
    std::vector<std::int32_t> ids;  // the true length; no padding
    // Position of the first <|endoftext|>: the token whose features CLIP pools.
    std::size_t end_index = 0;
};

class ClipTokenizer {
public:
    static constexpr std::size_t kContextLength = 77;

    ClipTokenizer(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);
    // OpenAI's bpe_simple_vocab_16e6.txt.gz (gzip; merges only, the vocabulary is derived).
    static ClipTokenizer from_openai_bpe(const std::filesystem::path& bpe_gz);
    // folder/vocab.json + folder/merges.txt, else folder/bpe_simple_vocab_16e6.txt.gz.
    static ClipTokenizer from_folder(const std::filesystem::path& folder);

    // tokenizer(text)["input_ids"]: with start and end tokens, never truncated.
    std::vector<std::int32_t> encode(std::string_view text, bool add_start_end = true) const;
    // For the text tower: at most context_length ids; longer text keeps its
    // first context_length - 2 tokens and still ends with <|endoftext|>, as both
    // clip.tokenize(truncate=True) and Hugging Face truncation=True do.
    ClipTokens encode_for_text_tower(std::string_view text, std::size_t context_length = kContextLength) const;
    // As transformers' decode: "</w>" becomes a space, the result is stripped.
    std::string decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens = false) const;

    std::int32_t start_id() const { return start_id_; }
    std::int32_t end_id() const { return end_id_; }

private:
    ClipTokenizer(BytePairEncoder bpe, const std::string& source);
    // NFC, then lower-case; the white space collapse is left out since the split drops white space.
    static void normalize(std::string_view text, std::string& out);

    BytePairEncoder bpe_;
    AddedTokenMatcher added_;
    std::int32_t start_id_ = -1;
    std::int32_t end_id_ = -1;
};

}  // namespace zgseg
