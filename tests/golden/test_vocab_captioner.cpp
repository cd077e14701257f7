// The vocabulary captioner on the tiny CLIP fixture: top-k by cosine, and its
// on-disk cache (created, reused, rebuilt when the vocabulary changes,
// detected and rebuilt when corrupt).
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "nets/clip.hpp"
#include "tolerance.hpp"
#include "stages/captioning/vocab_captioner.hpp"
#include "text/clip_tokenizer.hpp"
#include "zgseg/error.hpp"

using namespace zgseg;
using zgseg::testing::float32_cosine;
namespace fs = std::filesystem;

namespace {

const fs::path kData = ZGSEG_TEST_DATA;

struct Fixture {
    fs::path dir;
    ClipText text = ClipText::load(kData / "nets/clip-vit-l14-336-tiny", torch::kCPU, torch::kFloat32);
    ClipTokenizer tokenizer = ClipTokenizer::from_folder(kData / "models-tiny/clip-tokenizer");
    ClipTextEncoder encoder{text, tokenizer};
    std::string fingerprint = model_fingerprint(kData / "nets/clip-vit-l14-336-tiny");
    Fixture() {
        std::random_device rd;
        dir = fs::temp_directory_path() / ("zgseg_vocab_" + std::to_string(rd()));
        fs::create_directories(dir);
    }
    ~Fixture() { fs::remove_all(dir); }
    fs::path vocab(const std::vector<std::string>& words, const std::string& name = "vocab.txt") const {
        std::ofstream out(dir / name);
        for (const auto& w : words) out << w << "\n";
        return dir / name;
    }
    VocabCaptioner make(const fs::path& vocab_file) const {
        return VocabCaptioner(encoder, fingerprint, vocab_file, dir / "cache", 3);
    }
};

}  // namespace

TEST(VocabCaptioner, RanksEntriesByCosine) {
    Fixture f;
    const std::vector<std::string> words = {"dog", "cat", "tree", "sky", "car"};
    auto captioner = f.make(f.vocab(words));
    // An "image" embedding equal to the text embedding of "Image of a tree." must pick "tree".
    const auto target = f.encoder.encode({prompted("tree")});
    const auto captions = captioner.caption(target * 3.0);  // scale: captioning normalises
    ASSERT_EQ(captions.size(), 1u);
    EXPECT_EQ(captions[0].label, "tree");
    EXPECT_NEAR(captions[0].clip_score, 1.0, float32_cosine(32).atol);  // tiny CLIP: 32-d projection
    ASSERT_EQ(captions[0].candidates.size(), 3u);
    EXPECT_GE(captions[0].candidates[0].score, captions[0].candidates[1].score);
    EXPECT_GE(captions[0].candidates[1].score, captions[0].candidates[2].score);
    EXPECT_EQ(captions[0].text_embedding.size(), static_cast<size_t>(f.text.projection_dim()));
}

TEST(VocabCaptioner, CacheIsCreatedReusedAndRebuilt) {
    Fixture f;
    const auto v1 = f.vocab({"dog", "cat", "tree"});
    auto first = f.make(v1);
    EXPECT_TRUE(first.cache_was_built());
    EXPECT_TRUE(fs::exists(first.cache_file()));
    const auto embedding = f.encoder.encode({prompted("cat")});

    auto second = f.make(v1);  // same model and vocabulary: read from disk
    EXPECT_FALSE(second.cache_was_built());
    EXPECT_EQ(second.cache_file(), first.cache_file());
    EXPECT_EQ(second.caption(embedding)[0].label, "cat");

    auto changed = f.make(f.vocab({"dog", "cat", "tree", "house"}, "vocab2.txt"));  // another vocabulary: another cache
    EXPECT_TRUE(changed.cache_was_built());
    EXPECT_NE(changed.cache_file(), first.cache_file());

    // A corrupt cache (truncated) is detected and rebuilt.
    const auto full_size = fs::file_size(first.cache_file());
    fs::resize_file(first.cache_file(), full_size / 2);
    ASSERT_EQ(fs::file_size(first.cache_file()), full_size / 2);
    auto repaired = f.make(v1);
    EXPECT_TRUE(repaired.cache_was_built());
    EXPECT_EQ(repaired.caption(embedding)[0].label, "cat");
    auto reused = f.make(v1);
    EXPECT_FALSE(reused.cache_was_built());
}

TEST(VocabCaptioner, BadVocabularyFiles) {
    Fixture f;
    EXPECT_THROW(f.make(f.dir / "missing.txt"), Error);
    EXPECT_THROW(f.make(f.vocab({"", "# only a comment"})), Error);
    const auto dedup = read_vocabulary(f.vocab({" dog ", "dog", "cat # pet", "", "cat"}));
    EXPECT_EQ(dedup, (std::vector<std::string>{"dog", "cat"}));
}
