// ZeroCap against a Python re-statement of the reference code's loop on
// Hugging Face modules (scripts/fixtures/zerocap.py), on the tiny random GPT-2
// (vocabulary 1,000, its tokenizer cut from the real one) and the tiny CLIP
// text tower. Checked:
//   * the fused next-token distribution after the shift iterations at steps 0 and 1 (≤ 1e-4)
//   * the first iteration's gradient-normalised update of every layer's K and V (≤ 1e-5)
//   * the 5 beams (tokens and strings identical, scores ≤ 1e-5) for 3 embeddings × 2 settings
//   * the CLIP re-ranking and the label
// and that every exact speed-up, switched off one at a time, gives the same beams
// (tokens and strings identical, scores within float32 rounding, ≤ 1e-5).
#include <nlohmann/json.hpp>

#include <fstream>

#include "golden/net_fixtures.hpp"
#include "stages/captioning/zerocap.hpp"

namespace fs = std::filesystem;
using namespace zgseg;
using namespace zgseg::testing;

namespace {

const fs::path kData = fs::path(ZGSEG_TEST_DATA);
const fs::path kFixture = kData / "zerocap";

ZeroCapParams params_from(const nlohmann::json& j) {
    ZeroCapParams p;
    p.prompt = j.at("prompt");
    p.beam_size = j.at("beam_size");
    p.max_tokens = j.at("max_tokens");
    p.iterations = j.at("iterations");
    p.step_size = j.at("step_size");
    p.clip_scale = j.at("clip_scale");
    p.ce_scale = j.at("ce_scale");
    p.fusion_factor = j.at("fusion_factor");
    p.clip_candidates = j.at("candidates");
    p.clip_temperature = j.at("temperature");
    p.grad_norm_power = j.at("grad_norm_power");
    p.end_factor = j.at("end_factor");
    p.first_step_end_factor = j.at("first_step_end_factor");
    p.forbidden_factor = j.at("forbidden_factor");
    return p;
}

class ZeroCapGolden : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        torch::set_num_threads(2);
        lm_ = new Gpt2(Gpt2::load(kData / "nets" / "gpt2_tiny", torch::kCPU));
        lm_tokenizer_ = new Gpt2Tokenizer(Gpt2Tokenizer::from_folder(kData / "nets" / "gpt2_tiny"));
        clip_ = new ClipText(ClipText::load(kData / "nets" / "clip-vit-l14-336-tiny", torch::kCPU, torch::kFloat32));
        clip_tokenizer_ = new ClipTokenizer(ClipTokenizer::from_folder(kData / "models-tiny" / "clip-tokenizer"));
        expected_ = new std::map<std::string, torch::Tensor>(read_tensors(kFixture / "expected.safetensors"));
        std::ifstream in(kFixture / "expected.json");
        json_ = new nlohmann::json(nlohmann::json::parse(in));
    }
    static void TearDownTestSuite() {
        delete lm_;
        delete lm_tokenizer_;
        delete clip_;
        delete clip_tokenizer_;
        delete expected_;
        delete json_;
    }
    static const torch::Tensor& E(const std::string& name) {
        auto it = expected_->find(name);
        if (it == expected_->end()) throw std::runtime_error("fixture lacks " + name);
        return it->second;
    }
    static ZeroCapGenerator generator(int setting, ZeroCapSpeedups speedups = {}) {
        return ZeroCapGenerator(*lm_, *lm_tokenizer_, *clip_, *clip_tokenizer_,
                                read_forbidden_tokens(kFixture / "forbidden_ids.txt"),
                                params_from(json_->at("settings").at(setting)), speedups);
    }
    static torch::Tensor images() { return torch::stack({E("image0"), E("image1"), E("image2")}); }
    static const nlohmann::json& result(int setting, int image) {
        for (const auto& r : json_->at("results"))
            if (r.at("setting") == setting && r.at("image") == image) return r;
        throw std::runtime_error("fixture lacks a result");
    }
    static void expect_same_beams(const std::vector<ZeroCapBeam>& a, const std::vector<ZeroCapBeam>& b,
                                  double tolerance) {
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].tokens, b[i].tokens) << "beam " << i;
            EXPECT_EQ(a[i].text, b[i].text) << "beam " << i;
            EXPECT_NEAR(a[i].score, b[i].score, tolerance) << "beam " << i;
        }
    }

    static inline Gpt2* lm_ = nullptr;
    static inline Gpt2Tokenizer* lm_tokenizer_ = nullptr;
    static inline ClipText* clip_ = nullptr;
    static inline ClipTokenizer* clip_tokenizer_ = nullptr;
    static inline std::map<std::string, torch::Tensor>* expected_ = nullptr;
    static inline nlohmann::json* json_ = nullptr;
};

TEST_F(ZeroCapGolden, DistributionsAndFirstUpdatesAtSteps0And1) {
    auto gen = generator(0);
    std::map<int, torch::Tensor> probs;
    std::map<int, PastKeyValues> updates;
    ZeroCapTrace trace;
    trace.on_probs = [&](int, int step, const torch::Tensor& p) {
        if (step < 2) probs[step] = p.clone();
    };
    trace.on_first_update = [&](int, int step, const PastKeyValues& u) {
        if (step >= 2) return;
        for (const auto& kv : u) updates[step].push_back({kv.key.detach().clone(), kv.value.detach().clone()});
    };
    gen.set_trace(trace);
    gen.generate(E("image0").unsqueeze(0));
    for (int step = 0; step < 2; ++step) {
        ASSERT_TRUE(probs.count(step));
        const double d = max_abs_diff(probs[step], E("step" + std::to_string(step) + "/probs"));
        EXPECT_LE(d, 1e-4) << "step " << step;
        RecordProperty("probs_max_diff_step" + std::to_string(step), std::to_string(d));
        ASSERT_EQ(updates[step].size(), 2u);  // the tiny GPT-2 has 2 layers
        for (size_t l = 0; l < updates[step].size(); ++l) {
            const std::string key = "step" + std::to_string(step) + "/delta0/layer" + std::to_string(l) + "/";
            EXPECT_LE(max_abs_diff(updates[step][l].key, E(key + "k")), 1e-5) << key << "k";
            EXPECT_LE(max_abs_diff(updates[step][l].value, E(key + "v")), 1e-5) << key << "v";
        }
    }
}

TEST_F(ZeroCapGolden, BeamsMatchTheReference) {
    for (int setting = 0; setting < 2; ++setting) {
        auto gen = generator(setting);
        const auto beams = gen.generate(images());  // the 3 segments batched together
        ASSERT_EQ(beams.size(), 3u);
        for (int n = 0; n < 3; ++n) {
            const auto& r = result(setting, n);
            ASSERT_EQ(beams[n].size(), r.at("texts").size());
            for (size_t b = 0; b < beams[n].size(); ++b) {
                const auto tokens = r.at("tokens").at(b).get<std::vector<int32_t>>();
                EXPECT_EQ(beams[n][b].tokens, tokens) << "setting " << setting << " image " << n << " beam " << b;
                EXPECT_EQ(beams[n][b].text, r.at("texts").at(b).get<std::string>())
                    << "setting " << setting << " image " << n << " beam " << b;
                EXPECT_NEAR(beams[n][b].score, r.at("scores").at(b).get<double>(), 1e-5);
            }
        }
    }
}

TEST_F(ZeroCapGolden, SomeBeamsStopAtTheEndToken) {
    // The second setting exists to exercise stopping; make sure it does.
    int stopped = 0;
    for (int n = 0; n < 3; ++n)
        for (const auto& text : result(1, n).at("texts")) stopped += text.get<std::string>().back() == '.';
    EXPECT_GT(stopped, 0) << "the fixture's second setting no longer stops any beam; raise its end factor";
}

TEST_F(ZeroCapGolden, RerankingAndLabel) {
    const ClipTextEncoder reranker(*clip_, *clip_tokenizer_);
    auto gen = std::make_unique<ZeroCapGenerator>(generator(1));
    ZeroCapCaptioner captioner(std::move(gen), reranker);
    // Unnormalised on purpose: the captioner normalises.
    const auto captions = captioner.caption(images() * 3.0);
    for (int n = 0; n < 3; ++n) {
        const auto& r = result(1, n);
        const int best = r.at("best");
        const auto raw = r.at("texts").at(best).get<std::string>();
        EXPECT_EQ(captions[n].raw, raw);
        EXPECT_EQ(captions[n].label, zerocap_label(raw));
        EXPECT_NEAR(captions[n].clip_score, r.at("clip_scores").at(best).get<double>(), 1e-5);
        ASSERT_EQ(captions[n].candidates.size(), 5u);
        EXPECT_EQ(captions[n].candidates[0].text, raw);
        for (const auto& c : captions[n].candidates) {
            const auto texts = r.at("texts").get<std::vector<std::string>>();
            const auto at = std::find(texts.begin(), texts.end(), c.text) - texts.begin();
            ASSERT_LT(at, static_cast<long>(texts.size()));
            EXPECT_NEAR(c.clip_score, r.at("clip_scores").at(at).get<double>(), 1e-5);
        }
    }
}

// Each speed-up off (alone), and all off (the reference's way), against all on.
TEST_F(ZeroCapGolden, SpeedupsChangeNothing) {
    const auto all_on = generator(1).generate(images());
    std::vector<std::pair<std::string, ZeroCapSpeedups>> variants;
    ZeroCapSpeedups s;
    s.clip.true_length = false;
    variants.push_back({"true_length off", s});
    s = {};
    s.clip.prefix_cache = false;
    variants.push_back({"prefix_cache off", s});
    s = {};
    s.clip.dedupe = false;
    variants.push_back({"dedupe off", s});
    s = {};
    s.clip.one_batch = false;
    variants.push_back({"one_batch off", s});
    s = {};
    s.segments_per_batch = 1;
    variants.push_back({"one segment at a time", s});
    variants.push_back({"all off (reference)", ZeroCapSpeedups::reference()});
    for (const auto& [name, speedups] : variants) {
        SCOPED_TRACE(name);
        const auto beams = generator(1, speedups).generate(images());
        // Same tokens and strings; scores agree to float32 rounding (the cached
        // prefix path adds in another order, and the CLIP temperature of 0.01
        // magnifies 1e-7 feature differences 100×): ≤ 1e-5.
        for (int n = 0; n < 3; ++n) expect_same_beams(beams[n], all_on[n], 1e-5);
    }
}

TEST_F(ZeroCapGolden, PrefixCacheSpendsFewerClipFlops) {
    auto fast = generator(1);
    fast.generate(images());
    auto slow = generator(1, ZeroCapSpeedups::reference());
    slow.generate(images());
    const auto& f = fast.stats().clip;
    const auto& s = slow.stats().clip;
    EXPECT_EQ(f.strings, s.strings);
    EXPECT_DOUBLE_EQ(f.reference_flops, s.reference_flops);
    EXPECT_DOUBLE_EQ(s.flops, s.reference_flops);  // the reference mode costs what the reference does
    EXPECT_LT(f.flops * 5, s.flops);
    RecordProperty("clip_flop_ratio", std::to_string(s.flops / f.flops));
}

// ---- the CLIP side alone: every option gives the features of the whole strings --------------

TEST_F(ZeroCapGolden, CandidateTextsEqualFullEncoding) {
    // Candidates that continue the last word ("n", "s"), punctuation, a new
    // word, white space, an end token written out, and repeats.
    const std::vector<std::string> prefixes = {"Image of a", "Image of a red car", "Image of a"};
    const std::vector<std::vector<std::string>> candidates = {
        {" dog", "n", ".", " dog", "s", "<|endoftext|>", " ", " Dog's"},
        {" on", "s", "!", " park", "pet", " on", "\xe2\x80\x99s", " 12"},
        {" cat", " cat", "n", " dog", "x", "y", "z", " dog"},
    };
    std::vector<std::string> flat;
    for (size_t r = 0; r < prefixes.size(); ++r)
        for (const auto& c : candidates[r]) flat.push_back(prefixes[r] + c);
    const ClipTextEncoder whole(*clip_, *clip_tokenizer_);
    const auto expected = whole.encode(flat).view({3, 8, -1});
    for (int mask = 0; mask < 16; ++mask) {
        CandidateTextOptions o;
        o.true_length = mask & 1;
        o.prefix_cache = mask & 2;
        o.dedupe = mask & 4;
        o.one_batch = mask & 8;
        CandidateTextEncoder enc(*clip_, *clip_tokenizer_, o);
        const auto got = enc.encode(prefixes, candidates);
        EXPECT_LE(max_abs_diff(got, expected), 2e-6) << "options mask " << mask;
        EXPECT_EQ(enc.stats().strings, 24);
        // Repeats: " dog" and " on" within rows; "Image of a dog"/"…an" across rows 0 and 2; " cat" in row 2.
        EXPECT_EQ(enc.stats().strings_encoded, o.dedupe ? 18 : 24);
    }
}

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

TEST(ZeroCapPieces, BundledForbiddenListIsTheReferences) {
    const auto ids = read_forbidden_tokens(kData.parent_path().parent_path() / "models" / "gpt2-medium" / "zerocap_forbidden_tokens.txt");
    EXPECT_EQ(ids.size(), 917u);
    for (int64_t digit = 15; digit <= 24; ++digit)  // "0".."9"
        EXPECT_TRUE(std::binary_search(ids.begin(), ids.end(), digit)) << digit;
    EXPECT_LE(ids.back(), 50256);
}

}  // namespace
