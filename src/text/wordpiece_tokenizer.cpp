#include "text/wordpiece_tokenizer.hpp"

#include <algorithm>
#include <set>

#include "text/pretokenizers.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {
namespace {

// BERT's "control" characters (Hugging Face: categories Cc, Cf, Co; unassigned
// code points are kept), except tab, newline and carriage return.
bool is_bert_control(char32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    using unicode::Category;
    const Category c = unicode::category(cp);
    return c == Category::Cc || c == Category::Cf || c == Category::Co || c == Category::Cs;
}

// The CJK ideograph blocks that BERT splits into one-character words.
bool is_cjk_ideograph(char32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceConfig config, const std::string& source)
    : vocab_(std::move(vocab)), config_(std::move(config)) {
    ids_.reserve(vocab_.size());
    for (std::size_t i = 0; i < vocab_.size(); ++i) ids_[vocab_[i]] = static_cast<std::int32_t>(i);
    unk_id_ = resolve(config_.unk_token, source, "unknown-word token");

    // Added tokens: those with an explicit id first; a later one with the same text is dropped.
    std::stable_sort(config_.added_tokens.begin(), config_.added_tokens.end(),
                     [](const AddedToken& a, const AddedToken& b) { return (a.id >= 0) > (b.id >= 0); });
    std::set<std::string> seen;
    std::vector<AddedToken> raw, normalized;
    std::int32_t next_new_id = static_cast<std::int32_t>(vocab_.size());
    for (AddedToken t : config_.added_tokens) {
        if (t.content.empty() || !seen.insert(t.content).second) continue;
        if (t.id < 0) {
            const auto it = ids_.find(t.content);
            t.id = it != ids_.end() ? it->second : next_new_id++;
        }
        if (t.normalized) {
            t.content = normalize(t.content);
            normalized.push_back(t);
        } else {
            raw.push_back(t);
        }
    }
    const auto added_id = [&](const std::string& content) -> std::int32_t {
        for (const auto* list : {&raw, &normalized})
            for (const auto& t : *list)
                if (t.content == content) return t.id;
        return -1;
    };
    cls_id_ = added_id(config_.cls_token);
    sep_id_ = added_id(config_.sep_token);
    if (cls_id_ < 0) cls_id_ = resolve(config_.cls_token, source, "start token");
    if (sep_id_ < 0) sep_id_ = resolve(config_.sep_token, source, "end token");
    raw_added_ = AddedTokenMatcher(std::move(raw));
    normalized_added_ = AddedTokenMatcher(std::move(normalized));
    if (config_.max_length < 2) throw Error("tokenizer " + source + ": the maximum length must be at least 2");
}

WordPieceTokenizer WordPieceTokenizer::from_folder(const fs::path& folder) {
    std::vector<std::string> vocab;
    WordPieceConfig cfg = WordPieceConfig::from_folder(folder, vocab);
    return WordPieceTokenizer(std::move(vocab), std::move(cfg), (folder / "vocab.txt").string());
}

std::int32_t WordPieceTokenizer::resolve(const std::string& token, const std::string& source, const char* role) const {
    const auto it = ids_.find(token);
    if (it == ids_.end())
        throw Error("tokenizer file " + source + ": the " + role + " \"" + token + "\" is not in the vocabulary");
    return it->second;
}

std::string WordPieceTokenizer::normalize(std::string_view text) const {
    std::u32string s;
    s.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        const char32_t cp = utf8::next(text, pos);
        if (config_.clean_text) {
            if (cp == 0 || cp == 0xFFFD || is_bert_control(cp)) continue;
            if (unicode::is_white_space(cp)) {
                s += U' ';
                continue;
            }
        }
        if (config_.handle_chinese_chars && is_cjk_ideograph(cp)) {
            s += U' ';
            s += cp;
            s += U' ';
            continue;
        }
        s += cp;
    }
    if (config_.strip_accents.value_or(config_.lowercase)) {
        std::u32string d = unicode::nfd(s);
        d.erase(std::remove_if(d.begin(), d.end(), unicode::is_mark_nonspacing), d.end());
        s.swap(d);
    }
    if (config_.lowercase) s = unicode::lowercase(s);
    return utf8::from_u32(s);
}

// Greedy longest-match-first WordPiece; a word with an unmatched piece, or
// longer than max_input_chars_per_word characters, is one unknown token.
void WordPieceTokenizer::encode_word(std::string_view word, std::vector<std::int32_t>& ids) const {
    std::vector<std::size_t> bounds;  // byte offsets of the code points, then the end
    for (std::size_t pos = 0; pos < word.size(); utf8::next(word, pos)) bounds.push_back(pos);
    const std::size_t n_chars = bounds.size();
    bounds.push_back(word.size());
    if (n_chars > config_.max_input_chars_per_word) {
        ids.push_back(unk_id_);
        return;
    }
    const std::size_t first_new = ids.size();
    std::string piece;
    std::size_t start = 0;
    while (start < n_chars) {
        std::int32_t found = -1;
        std::size_t end = n_chars;
        for (; end > start; --end) {
            piece.clear();
            if (start > 0) piece = config_.continuing_subword_prefix;
            piece.append(word.substr(bounds[start], bounds[end] - bounds[start]));
            const auto it = ids_.find(piece);
            if (it != ids_.end()) {
                found = it->second;
                break;
            }
        }
        if (found < 0) {
            ids.resize(first_new);
            ids.push_back(unk_id_);
            return;
        }
        ids.push_back(found);
        start = end;
    }
}

std::vector<std::int32_t> WordPieceTokenizer::encode(std::string_view text, bool add_special_tokens) const {
    const std::size_t bad = utf8::find_invalid(text);
    if (bad != utf8::kValid)
        throw Error("WordPiece tokenizer: the text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    std::vector<std::int32_t> ids;
    if (add_special_tokens) ids.push_back(cls_id_);
    std::vector<TextSegment> raw_segments, segments;
    std::vector<std::string_view> words;
    raw_added_.split(text, raw_segments);
    for (const auto& raw : raw_segments) {
        if (raw.added_id >= 0) {
            ids.push_back(raw.added_id);
            continue;
        }
        const std::string normalized = normalize(raw.text);
        segments.clear();
        normalized_added_.split(normalized, segments);
        for (const auto& seg : segments) {
            if (seg.added_id >= 0) {
                ids.push_back(seg.added_id);
                continue;
            }
            words.clear();
            split_bert(seg.text, words);
            for (const auto w : words) encode_word(w, ids);
        }
    }
    if (add_special_tokens) ids.push_back(sep_id_);
    return ids;
}

std::vector<std::int32_t> WordPieceTokenizer::encode_truncated(std::string_view text) const {
    std::vector<std::int32_t> ids = encode(text, true);
    if (ids.size() > config_.max_length) {
        ids.resize(config_.max_length);
        ids.back() = sep_id_;
    }
    return ids;
}

}  // namespace zgseg
