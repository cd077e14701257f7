// Byte-level byte-pair encoding shared by GPT-2 and CLIP: the reversible
// byte <-> printable-character map, merges applied by rank, and a word cache.
// encode_word may be called from several threads at once (the cache is locked).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/token_files.hpp"

namespace zgseg {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the
// other 68 bytes to U+0100... in byte order.
const std::array<char32_t, 256>& byte_to_unicode();
// Inverse of byte_to_unicode, or -1 when cp stands for no byte.
int unicode_to_byte(char32_t cp);

class BytePairEncoder {
public:
    // vocab: tokens spelled in the byte-level alphabet. end_of_word_suffix
    // ("</w>" for CLIP, "" for GPT-2) is appended to the last byte of a word.
    // Throws zgseg::Error naming vocab_source / merges_source for a merge whose
    // tokens are not in the vocabulary.
    BytePairEncoder(TokenIdMap vocab, const MergeList& merges, std::string end_of_word_suffix,
                    const std::string& vocab_source, const std::string& merges_source);

    // Reads vocab.json, then merges.txt.
    static BytePairEncoder from_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt,
                                      std::string end_of_word_suffix);

    // Appends the ids of one pre-token given as raw bytes (non-empty).
    void encode_word(std::string_view word, std::vector<std::int32_t>& ids) const;

    std::optional<std::int32_t> token_id(const std::string& token) const;
    // 1 + the largest id.
    std::size_t id_limit() const { return token_bytes_.size(); }
    // The bytes a token stands for (byte-level characters mapped back); empty for an unused id.
    const std::string& token_bytes(std::int32_t id) const { return token_bytes_.at(static_cast<std::size_t>(id)); }
    const std::string& end_of_word_suffix() const { return suffix_; }

private:
    struct MergeResult {
        std::int32_t rank;
        std::int32_t merged_id;
    };
    static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
        return std::uint64_t(std::uint32_t(a)) << 32 | std::uint32_t(b);
    }
    void merge_symbols(std::vector<std::int32_t>& symbols) const;

    TokenIdMap vocab_;
    std::string suffix_;
    std::unordered_map<std::uint64_t, MergeResult> merges_;
    std::array<std::int32_t, 256> byte_id_{};      // id of each single byte
    std::array<std::int32_t, 256> byte_eow_id_{};  // id of byte + suffix (== byte_id_ without suffix)
    std::vector<std::string> token_bytes_;

    // Ids of words seen before; bounded so that long runs cannot grow it forever.
    // Behind a pointer so that the encoder stays movable.
    struct WordCache {
        static constexpr std::size_t kCapacity = 50000;
        std::mutex mutex;
        std::unordered_map<std::string, std::vector<std::int32_t>> ids;
    };
    std::unique_ptr<WordCache> cache_ = std::make_unique<WordCache>();
};

}  // namespace zgseg
