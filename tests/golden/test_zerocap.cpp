// ZeroCap against a Python re-statement of the reference code's loop on
// Hugging Face modules (scripts/fixtures/zerocap.py), small enough to run in
// seconds: the tiny random GPT-2 with its vocabulary cut to 300 ids
// (tests/data/zerocap/gpt2_v300) and the tiny CLIP text tower; 2–4 tokens.
// Checked:
//   * the fused next-token distribution after the shift iterations at steps 0
//     and 1, and the first iteration's update of every layer's K and V
//     (setting 0: top-16 of 300 candidates, so top-K membership is exercised)
//   * the 5 beams (tokens and strings identical, scores within tolerance) for
//     3 embeddings × 2 settings (all 300 candidates, so no top-K edge; setting 2
//     stops beams), the 3 segments batched together
//   * the CLIP re-ranking and the label
//   * every exact speed-up, in every combination, gives the same beams.
// Discrete results stay exact. Near-ties cannot flip them: the fixture was
// generated so that every choice (top-K membership, beam choice, output order,
// re-ranking) has a margin ≥ 100× its tolerance, and each test asserts that
// margin again on its own values (Margins). The full-size fixture (512 of
// 1,000 candidates, 15 tokens) is test_zerocap_slow.cpp, label `slow`.
#include <gtest/gtest-spi.h>

#include "golden/zerocap_checks.hpp"

using namespace zgseg;
using namespace zgseg::testing;

namespace {

const fs::path kData = fs::path(ZGSEG_TEST_DATA);

class ZeroCapGolden : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        data_ = new ZeroCapData(kData, kData / "zerocap", kData / "zerocap" / "gpt2_v300");
    }
    static void TearDownTestSuite() { delete data_; }
    static ZeroCapParams small_params();
    static inline ZeroCapData* data_ = nullptr;
};

TEST_F(ZeroCapGolden, DistributionsAndFirstUpdatesAtSteps0And1) {
    check_distributions_and_updates(*data_, 0);
}

TEST_F(ZeroCapGolden, BeamsMatchTheReference) { check_beams(*data_, 1, 3); }

TEST_F(ZeroCapGolden, StoppingBeamsMatchTheReference) { check_beams(*data_, 2, 3); }

TEST_F(ZeroCapGolden, SomeBeamsStopAtTheEndToken) {
    // Setting 2 exists to exercise stopping; make sure it does.
    int stopped = 0;
    for (int n = 0; n < 3; ++n)
        for (const auto& text : data_->result(2, n).at("texts")) stopped += text.get<std::string>().back() == '.';
    EXPECT_GT(stopped, 0) << "the fixture's setting 2 no longer stops any beam; raise its end factor";
}

TEST_F(ZeroCapGolden, RerankingAndLabel) { check_reranking(*data_, 2, 3); }

// Cheap settings for the checks of C++ against C++: 2 tokens, 2 iterations (so
// the second can reuse the first's features), top-16 of 300 (a membership edge).
ZeroCapParams ZeroCapGolden::small_params() {
    auto p = data_->params(2);
    p.max_tokens = 2;
    p.iterations = 2;
    p.clip_candidates = 16;
    return p;
}

// Every combination of the exact speed-ups against all on: identical tokens
// and strings, scores within kScore (the paths add in other orders).
TEST_F(ZeroCapGolden, SpeedupsChangeNothing) { check_speedup_combinations(*data_, small_params(), 2); }

TEST_F(ZeroCapGolden, CachesSpendFewerClipFlops) {
    auto fast = data_->generator(small_params());
    fast.generate(data_->images(2));
    auto slow = data_->generator(small_params(), ZeroCapSpeedups::reference());
    slow.generate(data_->images(2));
    const auto& f = fast.stats().clip;
    const auto& s = slow.stats().clip;
    EXPECT_EQ(f.strings, s.strings);
    EXPECT_DOUBLE_EQ(f.reference_flops, s.reference_flops);
    EXPECT_DOUBLE_EQ(s.flops, s.reference_flops);  // the reference mode costs what the reference does
    EXPECT_LT(f.flops * 5, s.flops);
    RecordProperty("clip_flop_ratio", std::to_string(s.flops / f.flops));
    // The second iteration of a step finds most of its strings in the step cache.
    EXPECT_GT(f.cache_hits, 0);
    EXPECT_LE(f.strings_encoded + f.cache_hits, f.strings);
    EXPECT_EQ(s.cache_hits, 0);
}

// The test hook that the full-size checks use to go on with the reference's
// candidate sets (ReferenceSets): observing changes nothing; replacing takes effect.
TEST_F(ZeroCapGolden, CandidateHookReplacesTheSets) {
    const auto params = small_params();  // 2 tokens, 2 iterations, top-16 of 300
    using Hook = decltype(ZeroCapTrace::on_candidates);
    const auto step0_probs = [&](const Hook& hook) {
        auto gen = data_->generator(params);
        torch::Tensor probs;
        ZeroCapTrace trace;
        trace.on_probs = [&probs](int, int step, const torch::Tensor& p) {
            if (step == 0) probs = p.clone();
        };
        trace.on_candidates = hook;
        gen.set_trace(trace);
        gen.generate(data_->images(1));
        return probs;  // (1, V)
    };
    const auto plain = step0_probs(nullptr);
    int calls = 0;
    const auto observed = step0_probs([&](int segment, int step, int, const torch::Tensor& logits, const torch::Tensor& top) {
        ++calls;
        EXPECT_EQ(segment, 0);
        const int64_t rows = step == 0 ? 1 : params.beam_size;
        EXPECT_EQ(top.sizes(), (std::vector<int64_t>{rows, params.clip_candidates}));
        EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{rows, 300}));
    });
    EXPECT_EQ(calls, 2 * params.iterations);  // per step and iteration
    EXPECT_TRUE(torch::equal(observed, plain));
    // The K least likely tokens instead of the K most likely: another CLIP target.
    const auto replaced = step0_probs([](int, int, int, const torch::Tensor& logits, const torch::Tensor& top) {
        top.copy_(std::get<1>(logits.topk(top.size(1), -1, /*largest=*/false)));
    });
    EXPECT_GT((replaced.log() - plain.log()).abs().max().item<double>(), 100 * kProbs.rtol);
}

// ---- the CLIP side alone: every option gives the features of the whole strings --------------

TEST_F(ZeroCapGolden, CandidateTextsEqualFullEncoding) { check_candidate_texts(*data_); }

// ---- small pieces ---------------------------------------------------------------------------

TEST(ZeroCapPieces, LabelCleanUp) {
    EXPECT_EQ(zerocap_label(" dog."), "dog");
    EXPECT_EQ(zerocap_label(" Red Car on a road."), "red car on a road");
    EXPECT_EQ(zerocap_label(" man with a hat"), "man with a hat");  // no "." at the end: kept whole
    EXPECT_EQ(zerocap_label(" St. Paul's."), "st. paul's");
    EXPECT_EQ(zerocap_label("."), "");
    EXPECT_EQ(zerocap_label(""), "");
}

TEST(ZeroCapPieces, TransformersDecodeCleanUp) {
    EXPECT_EQ(clean_up_tokenization("a dog . a cat , yes ! no ?"), "a dog. a cat, yes! no?");
    EXPECT_EQ(clean_up_tokenization("it 's we 're they 've I 'm don n't"), "it's we're they've I'm donn't");
    EXPECT_EQ(clean_up_tokenization("a ' b"), "a'b");
    EXPECT_EQ(clean_up_tokenization("  ."), " .");  // one rule pass, left to right
    EXPECT_EQ(clean_up_tokenization(" dog."), " dog.");
}

TEST(ZeroCapPieces, ForbiddenTokenListErrors) {
    TempDir dir;
    const auto file = dir.path / "forbidden.txt";
    std::ofstream(file) << "15\n16\n16\nseventeen\n";
    try {
        read_forbidden_tokens(file);
        FAIL() << "a bad line was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("line 4"), std::string::npos) << e.what();
    }
    std::ofstream(file) << "15\n16\n16\n";
    EXPECT_EQ(read_forbidden_tokens(file), (std::vector<int64_t>{15, 16}));
    EXPECT_THROW(read_forbidden_tokens(dir.path / "missing.txt"), Error);
}

// ReferenceSets on a made-up row (V = 8, K = 4): a set that differs from the
// reference's by ids within kLogit of the edge is accepted and replaced; one
// that differs by a clear gap fails; a kept set the run never reaches fails.
TEST(ZeroCapPieces, ReferenceSetsAcceptOnlyNearTies) {
    const auto ref_logits = torch::tensor({5.0f, 4.0f, 3.0f, 2.00001f, 2.0f, 1.0f, 0.0f, -1.0f}).view({1, 8});
    const auto ref_ids = torch::tensor({0, 1, 2, 3}, torch::kLong).view({1, 4});
    // ids 3 and 4 are 1e-5 apart (0.2× kLogit), the C++ ordered them the other way.
    const auto own_logits = torch::tensor({5.0f, 4.0f, 3.0f, 2.0f, 2.00001f, 1.0f, 0.0f, -1.0f}).view({1, 8});
    ReferenceSets sets;
    sets.add(0, 0, 0, ref_ids, ref_logits);
    auto top = torch::tensor({0, 1, 2, 4}, torch::kLong).view({1, 4});
    sets.use(0, 0, 0, own_logits, top);
    EXPECT_TRUE(torch::equal(top, ref_ids));
    sets.report("near-tie");
    // id 5 sits a whole logit below the reference's edge: no tie.
    ReferenceSets far;
    far.add(0, 0, 0, ref_ids, ref_logits);
    top = torch::tensor({0, 1, 2, 5}, torch::kLong).view({1, 4});
    EXPECT_NONFATAL_FAILURE(far.use(0, 0, 0, own_logits, top), "no near-tie in the reference");
    // A kept set at step 1 that the run never reached.
    far.add(0, 1, 0, ref_ids, ref_logits);
    EXPECT_NONFATAL_FAILURE(far.report("unreached"), "never reached 1 of");
}

TEST(ZeroCapPieces, BundledForbiddenListIsTheReferences) {
    const auto ids = read_forbidden_tokens(kData.parent_path().parent_path() / "models" / "gpt2-medium" / "zerocap_forbidden_tokens.txt");
    EXPECT_EQ(ids.size(), 917u);
    for (int64_t digit = 15; digit <= 24; ++digit)  // "0".."9"
        EXPECT_TRUE(std::binary_search(ids.begin(), ids.end(), digit)) << digit;
    EXPECT_LE(ids.back(), 50256);
}

}  // namespace
