#include "text/clip_tokenizer.hpp"

#include <algorithm>

#include "text/pretokenizers.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {
namespace {

constexpr const char* kStart = "<|startoftext|>";
constexpr const char* kEnd = "<|endoftext|>";

}  // namespace

ClipTokenizer::ClipTokenizer(BytePairEncoder bpe, const std::string& source) : bpe_(std::move(bpe)) {
    const auto start = bpe_.token_id(kStart);
    const auto end = bpe_.token_id(kEnd);
    if (!start || !end)
        throw Error("tokenizer file " + source + " lacks <|startoftext|> or <|endoftext|>; it is not a CLIP vocabulary");
    start_id_ = *start;
    end_id_ = *end;
    AddedToken s, e;
    s.content = kStart;
    s.id = start_id_;
    e.content = kEnd;
    e.id = end_id_;
    added_ = AddedTokenMatcher({s, e});
}

ClipTokenizer::ClipTokenizer(const fs::path& vocab_json, const fs::path& merges_txt)
    : ClipTokenizer(BytePairEncoder::from_files(vocab_json, merges_txt, "</w>"), vocab_json.string()) {}

ClipTokenizer ClipTokenizer::from_openai_bpe(const fs::path& bpe_gz) {
    const std::string text = read_gzip_file(bpe_gz);
    // OpenAI's SimpleTokenizer: skip the header line, keep 49152 - 256 - 2 merges.
    const std::size_t header_end = text.find('\n');
    if (header_end == std::string::npos) throw Error("tokenizer file " + bpe_gz.string() + " holds no merges");
    MergeList merges = parse_merges(std::string_view(text).substr(header_end + 1), bpe_gz.string());
    constexpr std::size_t kMerges = 49152 - 256 - 2;
    if (merges.size() < kMerges)
        throw Error("tokenizer file " + bpe_gz.string() + " holds " + std::to_string(merges.size()) +
                    " merges; CLIP's has at least " + std::to_string(kMerges));
    merges.resize(kMerges);
    // Vocabulary: the 256 byte characters, the same with "</w>", every merge joined, the two specials.
    TokenIdMap vocab;
    std::int32_t next_id = 0;
    // Byte characters in OpenAI's order: the bytes that stand for themselves, then the others.
    std::vector<std::string> bytes;
    for (const bool self_mapped : {true, false})
        for (int b = 0; b < 256; ++b) {
            const char32_t c = byte_to_unicode()[static_cast<std::size_t>(b)];
            if ((c == static_cast<char32_t>(b)) != self_mapped) continue;
            bytes.emplace_back();
            utf8::append(bytes.back(), c);
        }
    for (const auto& c : bytes) vocab.emplace(c, next_id++);
    for (const auto& c : bytes) vocab.emplace(c + "</w>", next_id++);
    for (const auto& [a, b] : merges) vocab.emplace(a + b, next_id++);
    vocab.emplace(kStart, next_id++);
    vocab.emplace(kEnd, next_id++);
    return ClipTokenizer(BytePairEncoder(std::move(vocab), merges, "</w>", bpe_gz.string(), bpe_gz.string()),
                         bpe_gz.string());
}

ClipTokenizer ClipTokenizer::from_folder(const fs::path& folder) {
    const fs::path gz = folder / "bpe_simple_vocab_16e6.txt.gz";
    if (!fs::exists(folder / "vocab.json") && !fs::exists(folder / "merges.txt") && fs::exists(gz))
        return from_openai_bpe(gz);
    return ClipTokenizer(folder / "vocab.json", folder / "merges.txt");
}

void ClipTokenizer::normalize(std::string_view text, std::string& out) {
    if (utf8::is_ascii(text)) {
        out.assign(text.data(), text.size());
        for (char& c : out)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        return;
    }
    out = utf8::from_u32(unicode::lowercase(unicode::nfc(utf8::to_u32(text))));
}

std::vector<std::int32_t> ClipTokenizer::encode(std::string_view text, bool add_start_end) const {
    const std::size_t bad = utf8::find_invalid(text);
    if (bad != utf8::kValid)
        throw Error("CLIP tokenizer: the text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    // Scratch buffers reused across calls: the text tower tokenises thousands of short captions.
    thread_local std::vector<TextSegment> segments;
    thread_local std::vector<std::string_view> words;
    thread_local std::string normalized;
    std::vector<std::int32_t> ids;
    ids.reserve(text.size() / 2 + 8);
    if (add_start_end) ids.push_back(start_id_);
    segments.clear();
    added_.split(text, segments);
    for (const auto& seg : segments) {
        if (seg.added_id >= 0) {
            ids.push_back(seg.added_id);
            continue;
        }
        normalize(seg.text, normalized);
        words.clear();
        split_clip(normalized, words);
        for (const auto w : words) bpe_.encode_word(w, ids);
    }
    if (add_start_end) ids.push_back(end_id_);
    return ids;
}

ClipTokens ClipTokenizer::encode_for_text_tower(std::string_view text, std::size_t context_length) const {
    if (context_length < 2) throw Error("CLIP tokenizer: the context length must be at least 2");
    ClipTokens out;
    out.ids = encode(text, true);
    if (out.ids.size() > context_length) {
        out.ids.resize(context_length);
        out.ids.back() = end_id_;
    }
    out.end_index = static_cast<std::size_t>(std::find(out.ids.begin() + 1, out.ids.end(), end_id_) - out.ids.begin());
    return out;
}

std::string ClipTokenizer::decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const {
    std::string bytes;
    for (const std::int32_t id : ids) {
        if (id < 0 || static_cast<std::size_t>(id) >= bpe_.id_limit())
            throw Error("CLIP tokenizer: token id " + std::to_string(id) + " is outside the vocabulary");
        if (skip_special_tokens && (id == start_id_ || id == end_id_)) continue;
        bytes += bpe_.token_bytes(id);
    }
    std::string text = utf8::decode_lossy(bytes);
    std::string out;
    for (std::size_t pos = 0; pos < text.size();) {
        if (text.compare(pos, 4, "</w>") == 0) {
            out += ' ';
            pos += 4;
        } else {
            out += text[pos++];
        }
    }
    // Python's str.strip(): white space at both ends.
    std::size_t b = 0, e = out.size();
    while (b < e) {
        std::size_t p = b;
        if (!unicode::is_white_space(utf8::next(out, p))) break;
        b = p;
    }
    while (e > b) {
        std::size_t s = e - 1;
        while (s > b && (static_cast<unsigned char>(out[s]) & 0xC0) == 0x80) --s;
        std::size_t p = s;
        if (!unicode::is_white_space(utf8::next(out, p))) break;
        e = s;
    }
    return out.substr(b, e - b);
}

}  // namespace zgseg
