#include "text/byte_bpe.hpp"

#include <algorithm>

#include "text/utf8.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

const std::array<char32_t, 256>& byte_to_unicode() {
    static const std::array<char32_t, 256> table = [] {
        std::array<char32_t, 256> t{};
        char32_t next_extra = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next_extra++;
        }
        return t;
    }();
    return table;
}

int unicode_to_byte(char32_t cp) {
    static const std::array<std::int16_t, 324> inverse = [] {
        std::array<std::int16_t, 324> t{};
        t.fill(-1);
        for (int b = 0; b < 256; ++b) t[byte_to_unicode()[static_cast<std::size_t>(b)]] = static_cast<std::int16_t>(b);
        return t;
    }();
    return cp < inverse.size() ? inverse[cp] : -1;
}

namespace {

std::string byte_char(int b) {
    std::string s;
    utf8::append(s, byte_to_unicode()[static_cast<std::size_t>(b)]);
    return s;
}

// A token's bytes: each character mapped back to its byte; a token with a
// character outside the byte alphabet (an added token) stands for its own UTF-8.
std::string bytes_of_token(const std::string& token) {
    std::string out;
    for (std::size_t pos = 0; pos < token.size();) {
        const int b = unicode_to_byte(utf8::next(token, pos));
        if (b < 0) return token;
        out += static_cast<char>(b);
    }
    return out;
}

}  // namespace

BytePairEncoder::BytePairEncoder(TokenIdMap vocab, const MergeList& merges, std::string end_of_word_suffix,
                                 const std::string& vocab_source, const std::string& merges_source)
    : vocab_(std::move(vocab)), suffix_(std::move(end_of_word_suffix)) {
    std::int32_t max_id = -1;
    for (const auto& [token, id] : vocab_) {
        if (utf8::find_invalid(token) != utf8::kValid)
            throw Error("tokenizer file " + vocab_source + " holds a token that is not valid UTF-8");
        max_id = std::max(max_id, id);
    }
    token_bytes_.resize(static_cast<std::size_t>(max_id) + 1);
    for (const auto& [token, id] : vocab_) token_bytes_[static_cast<std::size_t>(id)] = bytes_of_token(token);

    for (int b = 0; b < 256; ++b) {
        const std::string c = byte_char(b);
        const auto plain = vocab_.find(c);
        const auto eow = vocab_.find(c + suffix_);
        if (plain == vocab_.end() || eow == vocab_.end())
            throw Error("tokenizer file " + vocab_source + " lacks the byte token \"" + c + suffix_ +
                        "\"; it is not a byte-level BPE vocabulary");
        byte_id_[static_cast<std::size_t>(b)] = plain->second;
        byte_eow_id_[static_cast<std::size_t>(b)] = eow->second;
    }

    merges_.reserve(merges.size());
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [left, right] = merges[rank];
        const auto a = vocab_.find(left);
        const auto b = vocab_.find(right);
        const auto m = vocab_.find(left + right);
        if (a == vocab_.end() || b == vocab_.end() || m == vocab_.end())
            throw Error("tokenizer file " + merges_source + ": merge " + std::to_string(rank + 1) + " (\"" + left +
                        " " + right + "\") uses a token missing from " + vocab_source +
                        "; the two files do not belong together");
        // A repeated pair keeps its last rank, as in Hugging Face tokenizers.
        merges_.insert_or_assign(pair_key(a->second, b->second), MergeResult{static_cast<std::int32_t>(rank), m->second});
    }
}

BytePairEncoder BytePairEncoder::from_files(const std::filesystem::path& vocab_json,
                                            const std::filesystem::path& merges_txt, std::string end_of_word_suffix) {
    TokenIdMap vocab = read_vocab_json(vocab_json);
    const MergeList merges = read_merges_txt(merges_txt);
    return BytePairEncoder(std::move(vocab), merges, std::move(end_of_word_suffix), vocab_json.string(),
                           merges_txt.string());
}

std::optional<std::int32_t> BytePairEncoder::token_id(const std::string& token) const {
    const auto it = vocab_.find(token);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

void BytePairEncoder::encode_word(std::string_view word, std::vector<std::int32_t>& ids) const {
    if (word.empty()) return;
    thread_local std::string key;
    key.assign(word.data(), word.size());
    {
        std::lock_guard<std::mutex> lock(cache_->mutex);
        const auto hit = cache_->ids.find(key);
        if (hit != cache_->ids.end()) {
            ids.insert(ids.end(), hit->second.begin(), hit->second.end());
            return;
        }
    }
    std::vector<std::int32_t> symbols(word.size());
    for (std::size_t i = 0; i < word.size(); ++i) symbols[i] = byte_id_[static_cast<unsigned char>(word[i])];
    symbols.back() = byte_eow_id_[static_cast<unsigned char>(word.back())];
    merge_symbols(symbols);
    ids.insert(ids.end(), symbols.begin(), symbols.end());

    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (cache_->ids.size() < WordCache::kCapacity) cache_->ids.emplace(key, std::move(symbols));
}

// Repeatedly merges the adjacent pair of lowest rank (leftmost first among
// equal ranks) until no pair has a merge; symbols become the final ids.
void BytePairEncoder::merge_symbols(std::vector<std::int32_t>& symbols) const {
    const int n = static_cast<int>(symbols.size());
    if (n < 2) return;
    struct Candidate {
        std::int32_t rank, pos, merged_id;
    };
    // Min-heap on (rank, pos).
    const auto later = [](const Candidate& x, const Candidate& y) {
        return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos;
    };
    std::vector<std::int32_t> next(static_cast<std::size_t>(n)), prev(static_cast<std::size_t>(n));
    std::vector<char> alive(static_cast<std::size_t>(n), 1);
    std::vector<Candidate> heap;
    heap.reserve(static_cast<std::size_t>(n));
    const auto push_pair = [&](int left) {
        const int right = next[static_cast<std::size_t>(left)];
        if (right < 0) return;
        const auto it = merges_.find(pair_key(symbols[static_cast<std::size_t>(left)], symbols[static_cast<std::size_t>(right)]));
        if (it == merges_.end()) return;
        heap.push_back({it->second.rank, left, it->second.merged_id});
        std::push_heap(heap.begin(), heap.end(), later);
    };
    for (int i = 0; i < n; ++i) {
        next[static_cast<std::size_t>(i)] = i + 1 < n ? i + 1 : -1;
        prev[static_cast<std::size_t>(i)] = i - 1;
    }
    for (int i = 0; i + 1 < n; ++i) push_pair(i);

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const Candidate top = heap.back();
        heap.pop_back();
        const auto pos = static_cast<std::size_t>(top.pos);
        if (!alive[pos] || next[pos] < 0) continue;
        const auto right = static_cast<std::size_t>(next[pos]);
        // Skip candidates made stale by an earlier merge of either symbol.
        const auto it = merges_.find(pair_key(symbols[pos], symbols[right]));
        if (it == merges_.end() || it->second.merged_id != top.merged_id) continue;
        symbols[pos] = top.merged_id;
        alive[right] = 0;
        next[pos] = next[right];
        if (next[pos] >= 0) prev[static_cast<std::size_t>(next[pos])] = top.pos;
        if (prev[pos] >= 0) push_pair(prev[pos]);
        push_pair(top.pos);
    }
    std::size_t out = 0;
    for (int i = 0; i >= 0; i = next[static_cast<std::size_t>(i)]) symbols[out++] = symbols[static_cast<std::size_t>(i)];
    symbols.resize(out);
}

}  // namespace zgseg
