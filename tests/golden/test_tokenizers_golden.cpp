// Tokenizers against Hugging Face: every line of tests/data/tokenizers/corpus.jsonl
// must give exactly the ids that transformers 5 / tokenizers 0.23 gave
// (scripts/fixtures/tokenizer_goldens.py). Tolerance: zero differing ids. Each test
// prints its mismatch count.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "text/clip_tokenizer.hpp"
#include "text/gpt2_tokenizer.hpp"
#include "text/tokenize_jsonl.hpp"
#include "text/wordpiece_tokenizer.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Ids = std::vector<std::int32_t>;

namespace {

const fs::path kData = fs::path(ZGSEG_TEST_DATA) / "tokenizers";
const fs::path kModels = fs::path(ZGSEG_TEST_DATA).parent_path().parent_path() / "models";

std::vector<json> read_jsonl(const fs::path& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in) << path;
    std::vector<json> rows;
    for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
    return rows;
}

std::vector<std::string> corpus() {
    std::vector<std::string> texts;
    for (const auto& j : read_jsonl(kData / "corpus.jsonl")) texts.push_back(j.get<std::string>());
    return texts;
}

std::string show(const std::string& s) { return json(s).dump(); }

// Compares encode(text) with the fixture for every corpus line; prints the count.
template <typename Encode>
void expect_golden(const std::string& name, const fs::path& expected_file, Encode encode) {
    const auto texts = corpus();
    const auto expected = read_jsonl(expected_file);
    ASSERT_EQ(texts.size(), expected.size()) << expected_file;
    ASSERT_GE(texts.size(), 500u);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const Ids want = expected[i].get<Ids>();
        const Ids got = encode(texts[i]);
        if (got != want) {
            ++mismatches;
            ADD_FAILURE() << name << " line " << i + 1 << " " << show(texts[i]) << "\n  got  " << json(got).dump()
                          << "\n  want " << json(want).dump();
        }
    }
    std::cout << name << ": " << mismatches << " mismatches in " << texts.size() << " strings\n";
    EXPECT_EQ(mismatches, 0u);
}

}  // namespace

TEST(Gpt2Golden, MatchesHuggingFace) {
    const auto tok = zgseg::Gpt2Tokenizer::from_folder(kModels / "gpt2-medium");
    expect_golden("gpt2", kData / "gpt2.jsonl", [&](const std::string& s) { return tok.encode(s); });
}

TEST(Gpt2Golden, DecodeRoundTripsEveryCorpusString) {
    const auto tok = zgseg::Gpt2Tokenizer::from_folder(kModels / "gpt2-medium");
    std::size_t failures = 0;
    for (const auto& s : corpus()) {
        const Ids ids = tok.encode(s);
        if (tok.decode_bytes(ids) != s || tok.decode(ids) != s) {
            ++failures;
            ADD_FAILURE() << "round trip changed " << show(s);
        }
    }
    std::cout << "gpt2 round trip: " << failures << " strings changed\n";
}

TEST(Gpt2Golden, DecodeMatchesHuggingFaceOnCutCharacters) {
    // Random id lists, many ending or starting inside a UTF-8 character:
    // transformers turns each ill-formed piece into U+FFFD.
    const auto tok = zgseg::Gpt2Tokenizer::from_folder(kModels / "gpt2-medium");
    std::size_t mismatches = 0, cases = 0;
    for (const auto& c : read_jsonl(kData / "gpt2_decode.jsonl")) {
        ++cases;
        const std::string got = tok.decode(c["ids"].get<Ids>());
        if (got != c["text"].get<std::string>()) {
            ++mismatches;
            ADD_FAILURE() << c["ids"].dump() << "\n  got  " << show(got) << "\n  want " << c["text"].dump();
        }
    }
    std::cout << "gpt2 decode: " << mismatches << " mismatches in " << cases << " id lists\n";
    EXPECT_GT(cases, 300u);
}

TEST(ClipGolden, MatchesHuggingFace) {
    const auto tok = zgseg::ClipTokenizer::from_folder(kModels / "clip-vit-large-patch14-336");
    expect_golden("clip", kData / "clip.jsonl", [&](const std::string& s) { return tok.encode(s); });
}

TEST(ClipGolden, TextTowerInputMatchesHuggingFaceTruncation) {
    const auto tok = zgseg::ClipTokenizer::from_folder(kModels / "clip-vit-large-patch14-336");
    expect_golden("clip truncated to 77", kData / "clip_77.jsonl", [&](const std::string& s) {
        const zgseg::ClipTokens t = tok.encode_for_text_tower(s);
        EXPECT_LE(t.ids.size(), 77u);
        EXPECT_EQ(t.ids.front(), tok.start_id());
        EXPECT_EQ(t.ids.back(), tok.end_id());
        EXPECT_EQ(t.ids[t.end_index], tok.end_id());
        return t.ids;
    });
}

TEST(MiniLmGolden, MatchesHuggingFace) {
    const auto tok = zgseg::WordPieceTokenizer::from_folder(kModels / "all-MiniLM-L6-v2");
    expect_golden("all-MiniLM-L6-v2", kData / "minilm.jsonl", [&](const std::string& s) { return tok.encode(s); });
}

TEST(MiniLmGolden, TruncatesLikeSentenceTransformers) {
    const auto tok = zgseg::WordPieceTokenizer::from_folder(kModels / "all-MiniLM-L6-v2");
    EXPECT_EQ(tok.config().max_length, 256u);  // sentence_bert_config.json max_seq_length
    expect_golden("all-MiniLM-L6-v2 truncated", kData / "minilm_256.jsonl",
                  [&](const std::string& s) { return tok.encode_truncated(s); });
}

TEST(MpnetGolden, MatchesHuggingFace) {
    const auto tok = zgseg::WordPieceTokenizer::from_folder(kModels / "all-mpnet-base-v2");
    expect_golden("all-mpnet-base-v2", kData / "mpnet.jsonl", [&](const std::string& s) { return tok.encode(s); });
}

TEST(MpnetGolden, TruncatesLikeSentenceTransformers) {
    const auto tok = zgseg::WordPieceTokenizer::from_folder(kModels / "all-mpnet-base-v2");
    EXPECT_EQ(tok.config().max_length, 384u);
    expect_golden("all-mpnet-base-v2 truncated", kData / "mpnet_384.jsonl",
                  [&](const std::string& s) { return tok.encode_truncated(s); });
}

TEST(MpnetGolden, WithoutTokenizerJsonMatchesHuggingFace) {
    // Without tokenizer.json transformers derives the added tokens from the
    // config files: "<unk>" is then ordinary text.
    const fs::path dir = fs::temp_directory_path() / ("zgseg_mpnet_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    for (const char* f : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"})
        fs::copy_file(kModels / "all-mpnet-base-v2" / f, dir / f, fs::copy_options::overwrite_existing);
    const auto tok = zgseg::WordPieceTokenizer::from_folder(dir);
    expect_golden("all-mpnet-base-v2 without tokenizer.json", kData / "mpnet_nojson.jsonl",
                  [&](const std::string& s) { return tok.encode(s); });
    fs::remove_all(dir);
}

TEST(TokenizeJsonl, OutputLinesMatchHuggingFace) {
    const std::pair<const char*, const char*> cases[] = {
        {"gpt2", "gpt2-medium"}, {"clip", "clip-vit-large-patch14-336"}, {"sbert", "all-MiniLM-L6-v2"}};
    const char* fixtures[] = {"gpt2.jsonl", "clip.jsonl", "minilm.jsonl"};
    for (std::size_t k = 0; k < 3; ++k) {
        std::ifstream in(kData / "corpus.jsonl");
        std::ostringstream out, err;
        ASSERT_EQ(zgseg::tokenize_jsonl(in, out, err, cases[k].first, kModels / cases[k].second, false), 0)
            << err.str();
        std::istringstream got(out.str());
        std::ifstream want(kData / fixtures[k]);
        std::size_t lines = 0, mismatches = 0;
        for (std::string g, w; std::getline(want, w); ++lines) {
            ASSERT_TRUE(std::getline(got, g)) << cases[k].first << " output ends at line " << lines;
            if (json::parse(g) != json::parse(w)) ++mismatches;
        }
        std::cout << "tokenize_jsonl " << cases[k].first << ": " << mismatches << " mismatches in " << lines
                  << " lines\n";
        EXPECT_EQ(mismatches, 0u);
    }
}

TEST(ClipGolden, ConcurrentCallsGiveTheSameIds) {
    // Four threads share one tokenizer (and its word cache).
    const auto tok = zgseg::ClipTokenizer::from_folder(kModels / "clip-vit-large-patch14-336");
    const auto texts = corpus();
    const auto expected = read_jsonl(kData / "clip.jsonl");
    std::vector<std::size_t> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 3; ++round)
                for (std::size_t i = (t * 97) % texts.size(), n = 0; n < texts.size(); ++n, i = (i + 1) % texts.size())
                    if (tok.encode(texts[i]) != expected[i].get<Ids>()) ++mismatches[t];
        });
    for (auto& th : threads) th.join();
    for (std::size_t t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0u) << "thread " << t;
}

TEST(ClipTiming, ShortCaptions) {
    // Not an assertion: the target is < 5 ms for 2,560 captions on one core.
    const auto tok = zgseg::ClipTokenizer::from_folder(kModels / "clip-vit-large-patch14-336");
    const char* adjs[] = {"small", "large", "red", "white", "black", "wooden", "old", "young"};
    const char* nouns[] = {"dog", "cat", "car", "tree", "building", "person", "horse", "bus",
                           "plane", "bottle", "chair", "table", "sofa", "train", "boat", "bird"};
    const char* places[] = {"in a park.", "on the street.", "near the river.", "under a bridge.",
                            "at the beach.", "in the snow.", "on a table.", "by the window.",
                            "in a kitchen.", "at night.", "with a man.", "on the grass.",
                            "in the city.", "on a road.", "in the water.", "in a field."};
    std::vector<std::string> captions;
    for (const char* a : adjs)
        for (const char* n : nouns)
            for (int p = 0; p < 20; ++p)
                captions.push_back(std::string("Image of a ") + a + " " + n + " " + places[p % 16]);
    ASSERT_EQ(captions.size(), 2560u);
    // Thread CPU time as well as wall time: the test machines are shared.
    const auto cpu_ms = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
    };
    std::size_t tokens = 0;
    for (int pass = 0; pass < 5; ++pass) {
        const double c0 = cpu_ms();
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& c : captions) tokens += tok.encode_for_text_tower(c).ids.size();
        const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::cout << "CLIP tokenize 2560 captions, pass " << pass + 1 << (pass == 0 ? " (cold word cache)" : "")
                  << ": " << wall << " ms wall, " << cpu_ms() - c0 << " ms CPU\n";
    }
    EXPECT_GT(tokens, 0u);
}
