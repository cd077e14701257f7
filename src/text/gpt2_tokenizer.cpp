#include "text/gpt2_tokenizer.hpp"

#include <utility>

#include "text/pretokenizers.hpp"
#include "text/utf8.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {

Gpt2Tokenizer::Gpt2Tokenizer(const fs::path& vocab_json, const fs::path& merges_txt)
    : bpe_(BytePairEncoder::from_files(vocab_json, merges_txt, "")) {
    if (const auto eot = bpe_.token_id("<|endoftext|>")) {
        end_of_text_id_ = *eot;
        AddedToken t;
        t.content = "<|endoftext|>";
        t.id = *eot;
        added_ = AddedTokenMatcher({t});
    }
}

Gpt2Tokenizer Gpt2Tokenizer::from_folder(const fs::path& folder) {
    return Gpt2Tokenizer(folder / "vocab.json", folder / "merges.txt");
}

std::vector<std::int32_t> Gpt2Tokenizer::encode(std::string_view text) const {
    const std::size_t bad = utf8::find_invalid(text);
    if (bad != utf8::kValid)
        throw Error("GPT-2 tokenizer: the text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    std::vector<std::int32_t> ids;
    std::vector<TextSegment> segments;
    added_.split(text, segments);
    std::vector<std::string_view> words;
    for (const auto& seg : segments) {
        if (seg.added_id >= 0) {
            ids.push_back(seg.added_id);
            continue;
        }
        words.clear();
        split_gpt2(seg.text, words);
        for (const auto w : words) bpe_.encode_word(w, ids);
    }
    return ids;
}

std::string Gpt2Tokenizer::decode_bytes(const std::vector<std::int32_t>& ids) const {
    std::string out;
    for (const std::int32_t id : ids) {
        if (id < 0 || static_cast<std::size_t>(id) >= bpe_.id_limit())
            throw Error("GPT-2 tokenizer: token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                        std::to_string(bpe_.id_limit() - 1) + ")");
        out += bpe_.token_bytes(id);
    }
    return out;
}

std::string Gpt2Tokenizer::decode(const std::vector<std::int32_t>& ids) const {
    return utf8::decode_lossy(decode_bytes(ids));
}

std::string clean_up_tokenization(std::string text) {
    static const std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) {
        std::string out;
        out.reserve(text.size());
        size_t pos = 0;
        for (size_t hit; (hit = text.find(from, pos)) != std::string::npos; pos = hit + from.size())
            out.append(text, pos, hit - pos).append(to);
        out.append(text, pos, std::string::npos);
        text = std::move(out);
    }
    return text;
}

}  // namespace zgseg
