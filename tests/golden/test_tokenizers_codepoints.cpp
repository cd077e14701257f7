// Every Unicode scalar value, in one probe string per tokenizer, against
// Hugging Face (tests/data/tokenizers/codepoints.json, written by
// scripts/fixtures/tokenizer_goldens.py): FNV-1a hashes of the ids per block of 4096
// code points must be equal. The fixture leaves out the code points whose
// Unicode properties differ between our Unicode 14.0.0 tables and the versions
// compiled into tokenizers (listed there, see tokenizers_codepoints.py).
// Tolerance: zero differing blocks; the test prints the count.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "text/clip_tokenizer.hpp"
#include "text/gpt2_tokenizer.hpp"
#include "text/utf8.hpp"
#include "text/wordpiece_tokenizer.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kModels = fs::path(ZGSEG_TEST_DATA).parent_path().parent_path() / "models";

json fixture() {
    std::ifstream in(fs::path(ZGSEG_TEST_DATA) / "tokenizers" / "codepoints.json");
    return json::parse(in);
}

// Same probe strings as tokenizers_codepoints.py (c = the code point as UTF-8).
std::string probe(const std::string& kind, const std::string& c) {
    if (kind == "gpt2") return "a" + c + "b " + c + "1" + c + " " + c;
    if (kind == "clip") return "A" + c + "b " + c + "1" + c;
    return "A" + c + "b " + c;
}

template <typename Encode>
void check_all_code_points(const std::string& kind, Encode encode) {
    const json f = fixture();
    const json& spec = f["tokenizers"][kind];
    const auto block = f["block"].get<std::uint32_t>();
    std::vector<bool> excluded(0x110000, false);
    for (const auto& r : spec["excluded"])
        for (auto cp = r[0].get<std::uint32_t>(); cp <= r[1].get<std::uint32_t>(); ++cp) excluded[cp] = true;

    std::size_t checked = 0, bad_blocks = 0;
    const auto& hashes = spec["hashes"];
    for (std::uint32_t b = 0; b < hashes.size(); ++b) {
        std::uint64_t h = 0xCBF29CE484222325ull;
        const auto mix = [&h](std::int32_t v) {
            const auto u = static_cast<std::uint32_t>(v);
            for (int i = 0; i < 4; ++i) h = (h ^ ((u >> (8 * i)) & 0xFF)) * 0x100000001B3ull;
        };
        std::uint32_t first_checked = 0;
        bool any = false;
        for (std::uint32_t cp = b * block; cp < (b + 1) * block; ++cp) {
            if ((cp >= 0xD800 && cp <= 0xDFFF) || excluded[cp]) continue;
            if (!any) first_checked = cp;
            any = true;
            std::string c;
            zgseg::utf8::append(c, cp);
            for (const std::int32_t id : encode(probe(kind, c))) mix(id);
            mix(-1);
            ++checked;
        }
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
        if (hashes[b].get<std::string>() != hex && ++bad_blocks <= 10)
            ADD_FAILURE() << kind << ": ids differ in block U+" << std::hex << b * block << "..U+" << (b + 1) * block - 1
                          << " (first code point checked U+" << first_checked << ")";
    }
    std::cout << kind << ": " << checked << " code points checked (" << spec["excluded_count"]
              << " left out as Unicode-version differences), " << bad_blocks << " blocks differ\n";
    EXPECT_EQ(bad_blocks, 0u);
    EXPECT_GT(checked, 1100000u);
}

}  // namespace

TEST(CodePoints, Gpt2) {
    const auto tok = zgseg::Gpt2Tokenizer::from_folder(kModels / "gpt2-medium");
    check_all_code_points("gpt2", [&](const std::string& s) { return tok.encode(s); });
}

TEST(CodePoints, Clip) {
    const auto tok = zgseg::ClipTokenizer::from_folder(kModels / "clip-vit-large-patch14-336");
    check_all_code_points("clip", [&](const std::string& s) { return tok.encode(s); });
}

TEST(CodePoints, Bert) {
    const auto tok = zgseg::WordPieceTokenizer::from_folder(kModels / "all-MiniLM-L6-v2");
    check_all_code_points("bert", [&](const std::string& s) { return tok.encode(s); });
}
