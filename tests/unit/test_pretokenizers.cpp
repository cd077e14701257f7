// The hand-written GPT-2 and CLIP pre-tokenizers against the reference
// regular expressions run by PCRE2 (UTF + UCP; PCRE2 10.42 has the Unicode
// 14.0.0 tables that src/text/unicode_data.cpp has): the corpus and 20,000
// random strings must split identically. Also checks the BERT splitter and
// the Unicode helpers on a few defining cases.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <gtest/gtest.h>
#include <pcre2.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "text/pretokenizers.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace fs = std::filesystem;
using Words = std::vector<std::string_view>;

namespace {

// All matches of pattern in text, left to right (findall).
class Pattern {
public:
    explicit Pattern(const std::string& pattern) {
        int code = 0;
        PCRE2_SIZE offset = 0;
        re_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_UCP, &code, &offset, nullptr);
        EXPECT_NE(re_, nullptr) << "PCRE2 error " << code << " at " << offset;
        match_ = pcre2_match_data_create_from_pattern(re_, nullptr);
    }
    ~Pattern() {
        pcre2_match_data_free(match_);
        pcre2_code_free(re_);
    }
    Words find_all(std::string_view text) const {
        Words out;
        std::size_t pos = 0;
        while (pos <= text.size()) {
            const int rc = pcre2_match(re_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos, 0, match_,
                                       nullptr);
            if (rc < 0) break;
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match_);
            out.push_back(text.substr(ov[0], ov[1] - ov[0]));
            if (ov[1] == ov[0]) {  // empty match: step one code point
                if (ov[1] >= text.size()) break;
                std::size_t p = ov[1];
                zgseg::utf8::next(text, p);
                pos = p;
            } else {
                pos = ov[1];
            }
        }
        return out;
    }

private:
    pcre2_code* re_ = nullptr;
    pcre2_match_data* match_ = nullptr;
};

// The reference patterns with \s spelled out as the White_Space property:
// PCRE2's own \s also takes U+180E (Mongolian vowel separator), which Hugging
// Face's Oniguruma, like Unicode since 6.3, does not count as space (the
// golden corpus has it).
const std::string kSpace = R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
const std::string kS = "[" + kSpace + "]";                           // \s
const std::string kNotS = "[^" + kSpace + "]";                       // \S
const std::string kOther = "[^" + kSpace + R"(\p{L}\p{N}])";       // [^\s\p{L}\p{N}]
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
const std::string kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?)" + kOther + "+|" + kS + "+(?!" + kNotS + ")|" + kS + "+";
// CLIP's pattern less its two special-token alternatives (see pretokenizers.hpp):
// 's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
const std::string kClipPattern = R"('s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|)" + kOther + "+";

std::vector<std::string> test_strings() {
    std::vector<std::string> texts;
    std::ifstream in(fs::path(ZGSEG_TEST_DATA) / "tokenizers" / "corpus.jsonl");
    for (std::string line; std::getline(in, line);) texts.push_back(nlohmann::json::parse(line).get<std::string>());
    EXPECT_GE(texts.size(), 500u);
    // Random strings over characters of every class the patterns distinguish.
    const std::vector<std::string> pool = {
        "a", "Z", "'", "s", "S", "t", "re", "ve", "m", "ll", "d", "L", "0", "7", " ", " ", "  ", "\t", "\n", "\r\n",
        "\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\x83", "\xc2\x85", "\x0b", "!", "?", ".", "-", "\xc3\xa9", "\xce\xa3",
        "\xe4\xb8\xad", "\xd9\xa3", "\xc2\xbd", "\xf0\x9f\x98\x80", "\xe2\x80\x8d", "\xcc\x81", "\xe2\x80\x8b",
        "\xef\xbb\xbf", "\xe2\x80\x94", "\xef\xac\x81", "\xe2\x85\xa0", "\x00", "\xe2\x80\xa8"};
    std::mt19937 rng(12345);
    for (int i = 0; i < 20000; ++i) {
        std::string s;
        const int n = static_cast<int>(rng() % 12);
        for (int k = 0; k < n; ++k) s += pool[rng() % pool.size()];
        texts.push_back(s);
    }
    return texts;
}

std::string lower_nfc(const std::string& s) {
    return zgseg::utf8::from_u32(zgseg::unicode::lowercase(zgseg::unicode::nfc(zgseg::utf8::to_u32(s))));
}

}  // namespace

TEST(Pretokenizers, Gpt2ScannerEqualsPcre2) {
    const Pattern re(kGpt2Pattern);
    std::size_t mismatches = 0;
    const auto texts = test_strings();
    for (const auto& s : texts) {
        Words got;
        zgseg::split_gpt2(s, got);
        if (got != re.find_all(s) && ++mismatches <= 5) ADD_FAILURE() << nlohmann::json(s).dump();
    }
    std::cout << "GPT-2 split vs PCRE2: " << mismatches << " mismatches in " << texts.size() << " strings\n";
    EXPECT_EQ(mismatches, 0u);
}

TEST(Pretokenizers, ClipScannerEqualsPcre2) {
    const Pattern re(kClipPattern);
    std::size_t mismatches = 0;
    const auto texts = test_strings();
    for (const auto& raw : texts) {
        const std::string s = lower_nfc(raw);
        Words got;
        zgseg::split_clip(s, got);
        if (got != re.find_all(s) && ++mismatches <= 5) ADD_FAILURE() << nlohmann::json(s).dump();
    }
    std::cout << "CLIP split vs PCRE2: " << mismatches << " mismatches in " << texts.size() << " strings\n";
    EXPECT_EQ(mismatches, 0u);
}

TEST(Pretokenizers, Gpt2KeepsTheSpaceBeforeAWordAndSplitsContractions) {
    Words w;
    zgseg::split_gpt2("it's  a   test\n", w);
    EXPECT_EQ(w, (Words{"it", "'s", " ", " a", "  ", " test", "\n"}));
}

TEST(Pretokenizers, BertIsolatesPunctuationAndDropsSpace) {
    Words w;
    zgseg::split_bert("hello,  world!! $5 \xe3\x80\x82x", w);  // U+3002 ideographic full stop
    EXPECT_EQ(w, (Words{"hello", ",", "world", "!", "!", "$", "5", "\xe3\x80\x82", "x"}));
}

TEST(Unicode, NormalisationForms) {
    using zgseg::utf8::from_u32;
    using zgseg::utf8::to_u32;
    namespace u = zgseg::unicode;
    EXPECT_STREQ(u::version(), "14.0.0");
    EXPECT_EQ(from_u32(u::nfd(to_u32("\xc3\xa9"))), "e\xcc\x81");                   // é -> e + U+0301
    EXPECT_EQ(from_u32(u::nfc(to_u32("e\xcc\x81"))), "\xc3\xa9");                   // and back
    EXPECT_EQ(from_u32(u::nfd(to_u32("\xea\xb0\x81"))), "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8");  // 각 -> jamo
    EXPECT_EQ(from_u32(u::nfc(to_u32("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"))), "\xea\xb0\x81");
    // Canonical reordering: dot below (220) before dot above (230).
    EXPECT_EQ(from_u32(u::nfd(to_u32("q\xcc\x87\xcc\xa3"))), "q\xcc\xa3\xcc\x87");
    EXPECT_EQ(from_u32(u::lowercase(to_u32("\xc4\xb0"))), "i\xcc\x87");  // İ -> i + U+0307
    EXPECT_TRUE(u::is_white_space(0x85));
    EXPECT_FALSE(u::is_white_space(0x200B));
}
