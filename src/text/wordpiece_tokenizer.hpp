// WordPiece tokenizer of the Sentence-BERT models (BERT for all-MiniLM-L6-v2,
// MPNet for all-mpnet-base-v2), as transformers' BertTokenizer / MPNetTokenizer:
// BERT normaliser (control characters removed, white space unified, CJK
// ideographs split off, accents stripped and lower-case per the config),
// split on white space and punctuation, greedy longest-match WordPiece with
// "##" continuations, [CLS]/<s> ... [SEP]/</s>.
//
// Read from the model folder: vocab.txt, tokenizer_config.json,
// special_tokens_map.json, sentence_bert_config.json (max_seq_length) and,
// when present, tokenizer.json, whose added tokens and normaliser settings
// win as they do in transformers.
// All methods are const and safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/added_tokens.hpp"

namespace zgseg {

struct WordPieceConfig {
    // Normaliser.
    bool clean_text = true;
    bool handle_chinese_chars = true;
    std::optional<bool> strip_accents;  // unset: follows lowercase
    bool lowercase = true;
    // Model.
    std::string unk_token = "[UNK]";
    std::string continuing_subword_prefix = "##";
    std::size_t max_input_chars_per_word = 100;
    // Sequence template: cls_token text sep_token.
    std::string cls_token = "[CLS]";
    std::string sep_token = "[SEP]";
    // Tokens matched verbatim in the input (ids resolved against the vocabulary).
    std::vector<AddedToken> added_tokens;
    // Truncation length of encode_truncated (special tokens included).
    std::size_t max_length = 512;

    // Reads the folder's files as described above; throws zgseg::Error naming a bad file.
    static WordPieceConfig from_folder(const std::filesystem::path& folder, std::vector<std::string>& vocab);
};

class WordPieceTokenizer {
public:
    WordPieceTokenizer(std::vector<std::string> vocab, WordPieceConfig config, const std::string& source);
    static WordPieceTokenizer from_folder(const std::filesystem::path& folder);

    // tokenizer(text)["input_ids"]: start and end tokens, no truncation.
    std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
    // As Sentence-Transformers tokenises: at most config().max_length ids,
    // the end token kept last.
    std::vector<std::int32_t> encode_truncated(std::string_view text) const;

    const WordPieceConfig& config() const { return config_; }
    std::int32_t cls_id() const { return cls_id_; }
    std::int32_t sep_id() const { return sep_id_; }
    std::size_t vocab_size() const { return vocab_.size(); }

private:
    std::string normalize(std::string_view text) const;
    void encode_word(std::string_view word, std::vector<std::int32_t>& ids) const;
    std::int32_t resolve(const std::string& token, const std::string& source, const char* role) const;

    std::vector<std::string> vocab_;
    std::unordered_map<std::string, std::int32_t> ids_;
    WordPieceConfig config_;
    AddedTokenMatcher raw_added_;         // matched before normalisation
    AddedTokenMatcher normalized_added_;  // matched in normalised text
    std::int32_t cls_id_ = -1, sep_id_ = -1, unk_id_ = -1;
};

}  // namespace zgseg
