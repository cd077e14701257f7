// The ZeroCap golden checks and their tolerances, shared by the small default
// test (test_zerocap.cpp) and the full-size slow one (test_zerocap_slow.cpp).
//
// Every comparison is |got − expected| ≤ atol + rtol·|expected|. float32 has
// unit round-off u = 6e-8; a sum of n terms in another order differs by about
// u·√n relative, and the C++ and PyTorch-in-Python differ in order everywhere
// (fused kernels, batching, the prefix cache). Each tolerance is that rounding
// carried through the loop, with room for another machine's ISA and threads.
#pragma once

#include <array>
#include <utility>

#include "golden/zerocap_fixture.hpp"

namespace zgseg::testing {

// A CLIP feature (unit vector, D = 32): 2 layers of ≤ 128-term reductions over
// ≤ 77 tokens rounded in another order → ~u·√128·4 ≈ 3e-6 relative; |f_i| ≤ 1.
inline constexpr Bound kFeature{1e-6, 1e-5};
// A CLIP cosine of unit vectors: |Δcos| ≤ |Δf| ≈ 1e-6 (features within kFeature).
inline constexpr Bound kClip{1e-6, 1e-6};
// Log-probabilities. Features differ by ~3e-7; the CLIP temperature 0.01 turns
// that into ~3e-5 in the target's logits, so the target, the gradient and its
// normalised step (which moves log-probabilities by O(1)) all move by ~3e-5
// relative → log-probabilities within 5e-5. A logit is compared within its row
// (top-K membership), so a common offset does not count: the same 5e-5.
inline constexpr Bound kLogit{5e-5, 0};
// Fused probabilities: |Δp|/p = |Δ log p| ≤ 5e-5 (atol for ÷20-scaled tails).
inline constexpr Bound kProbs{1e-12, 5e-5};
// … of the tokens whose logit is scaled: a forbidden token's negative logit is
// multiplied by 20 (the end token's by ≤ 1.6), and so is its error: |Δ log p| ≤
// 20 × 5e-5. (Measured at full size: 9e-6 in a logit became 1.8e-4 in log p.)
inline constexpr Bound kScaledProbs{1e-12, 1e-3};
// A beam score is the mean of its tokens' log-probabilities: within 5e-5 too.
inline constexpr Bound kScore{5e-5, 0};
// The first update −0.3·g/‖g‖^0.9 of K/V: g comes from the same target (×100
// from the temperature) → ~3e-5 relative, ×3 headroom; a component's error
// follows its row's scale (typical |u| ≈ 0.01): atol 3e-5·0.01 ≈ 3e-7 → 5e-7.
inline constexpr Bound kUpdate{5e-7, 1e-4};
// Margin of every discrete choice, in multiples of its tolerance.
inline constexpr double kMarginFactor = 100;

// The full-size fixture (enforce = false) can hold near-ties: a choice whose
// margin is below its tolerance may have gone the other way in the reference,
// and everything after it would then differ. Top-K membership is settled by
// the reference's sets (ReferenceSets below); for the other choices such a run
// is still compared: if everything agrees within the tolerances, the check
// passes (the tie went the same way here); if not, the disagreement may be the
// tie's, so the run is reported and skipped, not failed. The small fixture
// excludes near-ties (enforce = true) and always fails on a disagreement.
inline bool skip_near_tie(const Margins& margins, const std::string& what, bool enforce, bool agrees) {
    if (enforce || agrees || !margins.near_tie()) return false;
    margins.check(what, kMarginFactor, false);
    const std::string why = "a choice is closer than its tolerance (near-tie) and " + what +
                            " disagrees with the reference after it: not comparable here";
    GTEST_MESSAGE_(why.c_str(), ::testing::TestPartResult::kSkip);  // GTEST_SKIP, from a helper
    return true;
}

// The reference's top-K candidate sets where the fixture keeps them
// (scripts/fixtures/zerocap.py --full: every set of setting 0, image 0, steps
// 0–1, and in every run the rows whose K-th − (K+1)-th logit is under kLogit).
// At such a row the C++'s own set is compared with the reference's: each id
// that only one side chose must be a genuine near-tie — on both sides, the
// logits of the swapped ids lie within kLogit of each other, so rounding
// within the tolerance can order them either way. The loop then goes on with
// the reference's set (ZeroCapTrace::on_candidates), so that everything after
// it is compared with the strict tolerances instead of skipped.
class ReferenceSets {
public:
    // All rows of one step and iteration of segment `segment`: ids (rows, K), logits (rows, V).
    void add(int segment, int step, int iteration, const torch::Tensor& ids, const torch::Tensor& logits) {
        for (int64_t r = 0; r < ids.size(0); ++r) rows_[{segment, step, iteration, r}] = {ids[r], logits[r]};
    }
    // Rows `at` (N, 3) [step, iteration, row] of segment `segment`: ids (N, K), logits (N, V).
    void add(int segment, const torch::Tensor& at, const torch::Tensor& ids, const torch::Tensor& logits) {
        for (int64_t n = 0; n < at.size(0); ++n)
            rows_[{segment, at[n][0].item<int64_t>(), at[n][1].item<int64_t>(), at[n][2].item<int64_t>()}] = {ids[n],
                                                                                                          logits[n]};
    }
    bool empty() const { return rows_.empty(); }
    size_t size() const { return rows_.size(); }

    // ZeroCapTrace::on_candidates: logits (rows, V), top (rows, K), overwritten where a set is kept.
    void use(int segment, int step, int iteration, const torch::Tensor& logits, const torch::Tensor& top) {
        for (int64_t r = 0; r < top.size(0); ++r) {
            auto found = rows_.find({segment, step, iteration, r});
            if (found == rows_.end()) continue;
            Row& ref = found->second;
            ref.met = true;
            Tally& tally = tallies_[{step, iteration}];
            tally.rows += 1;
            const int64_t V = logits.size(1), K = top.size(1);
            const auto in_own = torch::zeros({V}, torch::kBool).index_fill_(0, top[r], true);   // (V)
            const auto in_ref = torch::zeros({V}, torch::kBool).index_fill_(0, ref.ids, true);  // (V)
            const auto only_own = in_own.logical_and(in_ref.logical_not());                     // (V)
            const auto only_ref = in_ref.logical_and(in_own.logical_not());                     // (V)
            const int64_t swapped = only_own.sum().item<int64_t>();
            if (swapped > 0) {
                const auto own = logits[r].to(torch::kCPU, torch::kDouble);  // (V)
                const auto theirs = ref.logits.to(torch::kDouble);           // (V)
                const double bound = kLogit.at(std::get<0>(theirs.topk(K)).select(0, K - 1).item<double>());
                // How far each side's logits would have to move for it to choose the other's set.
                const double ref_gap =
                    (theirs.masked_select(only_ref).max() - theirs.masked_select(only_own).min()).item<double>() / bound;
                const double own_gap =
                    (own.masked_select(only_own).max() - own.masked_select(only_ref).min()).item<double>() / bound;
                tally.differ += 1;
                tally.swapped += swapped;
                tally.worst_gap = std::max({tally.worst_gap, ref_gap, own_gap});
                const std::string at = "segment " + std::to_string(segment) + " step " + std::to_string(step) +
                                        " iteration " + std::to_string(iteration) + " row " + std::to_string(r);
                std::cout << "[sets] " << at << ": only the C++ chose " << ids_of(only_own) << ", only the reference "
                          << ids_of(only_ref) << "; logit gap " << ref_gap << "x (reference), " << own_gap
                          << "x (C++) the tolerance\n";
                EXPECT_LE(ref_gap, 1.0) << at << ": the swapped candidates are no near-tie in the reference";
                EXPECT_LE(own_gap, 1.0) << at << ": the swapped candidates are no near-tie in the C++";
            }
            top[r].copy_(ref.ids);
        }
    }

    // Prints the tally per step and iteration; every kept set must have been met
    // (the run reached the same rows, so the reference's sets were used).
    void report(const std::string& what) const {
        for (const auto& [at, t] : tallies_)
            std::cout << "[sets] " << what << ", step " << at.first << " iteration " << at.second << ": " << t.rows
                      << " row(s) compared, " << t.differ << " differ (" << t.swapped << " id(s) swapped"
                      << (t.differ ? "; largest logit gap " + std::to_string(t.worst_gap) + "x the tolerance" : "")
                      << ")\n";
        int missed = 0;
        for (const auto& [key, row] : rows_) missed += !row.met;
        EXPECT_EQ(missed, 0) << what << ": the run never reached " << missed << " of the reference's " << rows_.size()
                             << " kept sets";
    }

private:
    struct Row {
        torch::Tensor ids, logits;  // (K) int64, (V) the reference's
        bool met = false;
    };
    struct Tally {
        int rows = 0, differ = 0;
        int64_t swapped = 0;
        double worst_gap = 0;  // / kLogit
    };
    static std::string ids_of(const torch::Tensor& mask) {
        std::string out = "{";
        const auto ids = mask.nonzero().view({-1});
        for (int64_t i = 0; i < ids.size(0); ++i) out += (i ? ", " : "") + std::to_string(ids[i].item<int64_t>());
        return out + "}";
    }
    std::map<std::array<int64_t, 4>, Row> rows_;  // (segment, step, iteration, row)
    std::map<std::pair<int, int>, Tally> tallies_;  // (step, iteration)
};

// The near-tie rows the full-size fixture keeps for run (setting, images): see ReferenceSets.
inline ReferenceSets reference_ties(const ZeroCapData& data, int setting, int images) {
    ReferenceSets sets;
    for (int n = 0; n < images; ++n) {
        const std::string key = "ties/setting" + std::to_string(setting) + "/image" + std::to_string(n) + "/";
        if (data.has(key + "at")) sets.add(n, data.E(key + "at"), data.E(key + "top_ids"), data.E(key + "logits"));
    }
    return sets;
}

// A trace recording every choice margin and, where `sets` holds any, using the reference's sets.
inline ZeroCapTrace trace_with_sets(Margins& margins, ReferenceSets& sets) {
    ZeroCapTrace trace;
    trace.on_choice = [&margins](int, int, const std::string& kind, double margin, double value) {
        margins.add(kind, margin, value, kind == "logit" ? kLogit : kScore);
    };
    if (!sets.empty())
        trace.on_candidates = [&sets](int segment, int step, int iteration, const torch::Tensor& logits,
                                      const torch::Tensor& top) { sets.use(segment, step, iteration, logits, top); };
    return trace;
}

// The choices a near-tie could still have flipped: top-K membership is settled
// where the reference's sets were compared and used.
inline Margins undecided(Margins margins, bool sets_used) {
    if (sets_used) margins.smallest.erase("logit");
    return margins;
}

inline void check_distributions_and_updates(const ZeroCapData& data, int setting, bool enforce_margins = true) {
    auto params = data.params(setting);
    params.max_tokens = 2;  // the traced steps; later steps cannot change them
    auto gen = data.generator(params);
    std::map<int, torch::Tensor> probs;
    std::map<int, PastKeyValues> updates;
    // The full-size fixture keeps every set of these two steps (the small one has none).
    ReferenceSets sets;
    for (int step = 0; step < 2; ++step)
        for (int it = 0; it < params.iterations; ++it) {
            const std::string key = "step" + std::to_string(step) + "/iteration" + std::to_string(it) + "/";
            if (data.has(key + "top_ids")) sets.add(0, step, it, data.E(key + "top_ids"), data.E(key + "logits"));
        }
    Margins margins;
    ZeroCapTrace trace = trace_with_sets(margins, sets);
    trace.on_probs = [&](int, int step, const torch::Tensor& p) {
        if (step < 2) probs[step] = p.clone();
    };
    trace.on_first_update = [&](int, int step, const PastKeyValues& u) {
        if (step >= 2) return;
        for (const auto& kv : u) updates[step].push_back({kv.key.detach().clone(), kv.value.detach().clone()});
    };
    gen.set_trace(trace);
    gen.generate(data.E("image0").unsqueeze(0));
    if (!sets.empty()) sets.report("distributions");
    // (V) the forbidden tokens and "." (their logits scaled: kScaledProbs).
    const auto scaled = torch::zeros({data.lm.config().vocab_size}, torch::kBool);
    for (int64_t id : read_forbidden_tokens(data.folder / "forbidden_ids.txt")) scaled[id].fill_(true);
    scaled[data.lm_tokenizer.encode(".").at(0)].fill_(true);
    Diff dp, ds, du;
    for (int step = 0; step < 2; ++step) {
        ASSERT_TRUE(probs.count(step));
        const auto& want = data.E("step" + std::to_string(step) + "/probs");  // (rows, V)
        dp.add(probs[step].masked_select(scaled.logical_not()), want.masked_select(scaled.logical_not()), kProbs);
        ds.add(probs[step].masked_select(scaled), want.masked_select(scaled), kScaledProbs);
        ASSERT_EQ(updates[step].size(), 2u);  // the tiny GPT-2 has 2 layers
        for (size_t l = 0; l < updates[step].size(); ++l) {
            const std::string key = "step" + std::to_string(step) + "/delta0/layer" + std::to_string(l) + "/";
            du.add(updates[step][l].key, data.E(key + "k"), kUpdate);
            du.add(updates[step][l].value, data.E(key + "v"), kUpdate);
        }
    }
    const bool agrees = dp.worst <= 1 && ds.worst <= 1 && du.worst <= 1;
    if (!agrees && !enforce_margins && sets.empty()) {  // what a skipped run saw
        dp.print("fused probabilities, steps 0-1 (not checked)", kProbs);
        ds.print("fused probabilities of forbidden tokens and '.', steps 0-1 (not checked)", kScaledProbs);
        du.print("first K/V updates, steps 0-1 (not checked)", kUpdate);
    }
    if (skip_near_tie(undecided(margins, !sets.empty()), "distributions", enforce_margins, agrees)) return;
    dp.check("fused probabilities, steps 0-1", kProbs);
    ds.check("fused probabilities of forbidden tokens and '.', steps 0-1", kScaledProbs);
    du.check("first K/V updates, steps 0-1", kUpdate);
    margins.check("distributions", kMarginFactor, enforce_margins);
}

inline void check_beams(const ZeroCapData& data, int setting, int images, bool enforce_margins = true) {
    auto gen = data.generator(setting);
    Margins margins;
    auto sets = reference_ties(data, setting, images);
    gen.set_trace(trace_with_sets(margins, sets));
    const auto beams = gen.generate(data.images(images));  // the segments batched together
    ASSERT_EQ(beams.size(), static_cast<size_t>(images));
    if (!sets.empty()) sets.report("beams, setting " + std::to_string(setting));
    for (const auto& b : beams) add_order_margins(b, margins, kScore);
    // Compare first without failing: a near-tie may excuse a disagreement.
    bool same_beams = true;
    for (int n = 0; n < images; ++n) {
        const auto& r = data.result(setting, n);
        same_beams = same_beams && beams[n].size() == r.at("texts").size();
        for (size_t b = 0; same_beams && b < beams[n].size(); ++b)
            same_beams = beams[n][b].tokens == r.at("tokens").at(b).get<std::vector<int32_t>>() &&
                         beams[n][b].text == r.at("texts").at(b).get<std::string>();
    }
    Diff d;
    for (int n = 0; same_beams && n < images; ++n)
        for (size_t b = 0; b < beams[n].size(); ++b)
            d.add(beams[n][b].score, data.result(setting, n).at("scores").at(b).get<double>(), kScore);
    const std::string what = "beams, setting " + std::to_string(setting);
    if (skip_near_tie(undecided(margins, !sets.empty()), what, enforce_margins, same_beams && d.worst <= 1)) return;
    for (int n = 0; n < images; ++n) {
        const auto& r = data.result(setting, n);
        ASSERT_EQ(beams[n].size(), r.at("texts").size());
        for (size_t b = 0; b < beams[n].size(); ++b) {
            const std::string at = "setting " + std::to_string(setting) + " image " + std::to_string(n) + " beam " + std::to_string(b);
            EXPECT_EQ(beams[n][b].tokens, r.at("tokens").at(b).get<std::vector<int32_t>>()) << at;
            EXPECT_EQ(beams[n][b].text, r.at("texts").at(b).get<std::string>()) << at;
        }
    }
    d.check("beam scores, setting " + std::to_string(setting), kScore);
    margins.check("beams, setting " + std::to_string(setting), kMarginFactor, enforce_margins);
}

inline void check_reranking(const ZeroCapData& data, int setting, int images, bool enforce_margins = true) {
    const ClipTextEncoder reranker(data.clip, data.clip_tokenizer);
    auto gen = std::make_unique<ZeroCapGenerator>(data.generator(setting));
    Margins generation;  // the beams' own choices (check_beams reports them)
    auto sets = reference_ties(data, setting, images);
    if (!sets.empty()) gen->set_trace(trace_with_sets(generation, sets));
    ZeroCapCaptioner captioner(std::move(gen), reranker);
    // Unnormalised on purpose: the captioner normalises.
    const auto captions = captioner.caption(data.images(images) * 3.0);
    if (!sets.empty()) sets.report("re-ranking, setting " + std::to_string(setting));
    Diff d;
    Margins margins;
    for (int n = 0; n < images; ++n) {
        const auto& r = data.result(setting, n);
        const int best = r.at("best");
        const auto raw = r.at("texts").at(best).get<std::string>();
        EXPECT_EQ(captions[n].raw, raw);
        EXPECT_EQ(captions[n].label, zerocap_label(raw));
        d.add(captions[n].clip_score, r.at("clip_scores").at(best).get<double>(), kClip);
        ASSERT_EQ(captions[n].candidates.size(), 5u);
        EXPECT_EQ(captions[n].candidates[0].text, raw);
        const auto texts = r.at("texts").get<std::vector<std::string>>();
        for (size_t i = 0; i < captions[n].candidates.size(); ++i) {
            const auto& c = captions[n].candidates[i];
            const auto at = std::find(texts.begin(), texts.end(), c.text) - texts.begin();
            ASSERT_LT(at, static_cast<long>(texts.size()));
            d.add(c.clip_score, r.at("clip_scores").at(at).get<double>(), kClip);
            if (i > 0) margins.add("clip", captions[n].clip_score - c.clip_score, captions[n].clip_score, kClip);
        }
    }
    d.check("re-ranking CLIP scores", kClip);
    margins.check("re-ranking", kMarginFactor, enforce_margins);
}

// Every combination of the exact speed-ups against all on, on `images` segments.
inline void check_speedup_combinations(const ZeroCapData& data, const ZeroCapParams& params, int images) {
    auto on = data.generator(params);
    Margins margins;
    trace_margins(on, margins, kLogit, kScore);
    const auto all_on = on.generate(data.images(images));
    for (const auto& beams : all_on) add_order_margins(beams, margins, kScore);
    margins.check("speed-ups, all on", kMarginFactor);
    Diff d;
    constexpr int kSwitches = 6;
    for (int mask = 1; mask < (1 << kSwitches); ++mask) {  // bit set = that speed-up off
        ZeroCapSpeedups s;
        s.clip.true_length = !(mask & 1);
        s.clip.prefix_cache = !(mask & 2);
        s.clip.dedupe = !(mask & 4);
        s.clip.one_batch = !(mask & 8);
        s.clip.step_cache = !(mask & 16);
        if (mask & 32) s.segments_per_batch = 1;
        SCOPED_TRACE("speed-ups off: mask " + std::to_string(mask));
        const auto beams = data.generator(params, s).generate(data.images(images));
        for (int n = 0; n < images; ++n) {
            ASSERT_EQ(beams[n].size(), all_on[n].size());
            for (size_t b = 0; b < beams[n].size(); ++b) {
                EXPECT_EQ(beams[n][b].tokens, all_on[n][b].tokens) << "image " << n << " beam " << b;
                EXPECT_EQ(beams[n][b].text, all_on[n][b].text) << "image " << n << " beam " << b;
                d.add(beams[n][b].score, all_on[n][b].score, kScore);
            }
        }
    }
    d.check("beam scores, every speed-up combination vs all on", kScore);
}

// Candidates that continue the last word ("n", "s"), punctuation, a new word,
// white space, an end token written out, and repeats: every option combination
// gives the features of the whole strings.
inline void check_candidate_texts(const ZeroCapData& data) {
    const std::vector<std::string> prefixes = {"Image of a", "Image of a red car", "Image of a"};
    const std::vector<std::vector<std::string>> candidates = {
        {" dog", "n", ".", " dog", "s", "<|endoftext|>", " ", " Dog's"},
        {" on", "s", "!", " park", "pet", " on", "\xe2\x80\x99s", " 12"},
        {" cat", " cat", "n", " dog", "x", "y", "z", " dog"},
    };
    std::vector<std::string> flat;
    for (size_t r = 0; r < prefixes.size(); ++r)
        for (const auto& c : candidates[r]) flat.push_back(prefixes[r] + c);
    const ClipTextEncoder whole(data.clip, data.clip_tokenizer);
    const auto expected = whole.encode(flat).view({3, 8, -1});
    // A later iteration of the same step: row 1 keeps its candidates but in
    // another order and with one new string; rows 0 and 2 are unchanged.
    auto later = candidates;
    std::reverse(later[1].begin(), later[1].end());
    later[1][0] = " road";
    std::vector<std::string> later_flat;
    for (size_t r = 0; r < prefixes.size(); ++r)
        for (const auto& c : later[r]) later_flat.push_back(prefixes[r] + c);
    const auto later_expected = whole.encode(later_flat).view({3, 8, -1});
    Diff d;
    for (int mask = 0; mask < 32; ++mask) {
        CandidateTextOptions o;
        o.true_length = mask & 1;
        o.prefix_cache = mask & 2;
        o.dedupe = mask & 4;
        o.one_batch = mask & 8;
        o.step_cache = mask & 16;
        SCOPED_TRACE("options mask " + std::to_string(mask));
        CandidateTextEncoder enc(data.clip, data.clip_tokenizer, o);
        d.add(enc.encode(prefixes, candidates), expected, kFeature);
        EXPECT_EQ(enc.stats().strings, 24);
        // Repeats: " dog" and " on" within rows; "Image of a dog"/"…an" across rows 0 and 2; " cat" in row 2.
        const int64_t first = o.dedupe ? 18 : 24;
        EXPECT_EQ(enc.stats().strings_encoded, first);
        EXPECT_EQ(enc.stats().cache_hits, 0);
        d.add(enc.encode(prefixes, later), later_expected, kFeature);
        // The step cache encodes only " road"; the other 23 strings are hits.
        EXPECT_EQ(enc.stats().strings_encoded, first + (o.step_cache ? 1 : first));
        EXPECT_EQ(enc.stats().cache_hits, o.step_cache ? 23 : 0);
        enc.begin_step();  // a new step forgets them
        d.add(enc.encode(prefixes, candidates), expected, kFeature);
        EXPECT_EQ(enc.stats().cache_hits, o.step_cache ? 23 : 0);
    }
    d.check("candidate features, 32 option combinations, 3 calls", kFeature);
}

}  // namespace zgseg::testing
