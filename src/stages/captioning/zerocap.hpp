// Stage 3, the paper's captioner: ZeroCap (Tewel et al. 2022) as the
// reference code runs it (ZeroGuidanceSeg model/ZeroCLIP_v2.py; semantics in
// ../shared/docs/reference-notes.md §4). GPT-2 writes the caption one token at
// a time after "<|endoftext|>Image of a"; before each token, additive shifts
// of every layer's past keys/values are optimised for a few gradient steps so
// that the next-token distribution moves towards what CLIP says matches the
// segment embedding, while a KL term keeps it close to fluent English.
//
// One token step, per beam row:
//   past, p0      ← GPT-2 on the context (no grad); p0 = next-token distribution
//   Δ ← 0; repeat `iterations` times:
//     p    = softmax(GPT-2(last token | past + Δ))
//     top  = the `clip_candidates` most likely tokens under p
//     t    = softmax(cos(image, CLIP(context text + token text)) / temperature) over top
//     loss = clip_scale·(−Σ_top t·log p) + ce_scale·Σ_v p·(log p − log p0)
//     Δ   −= step · g / (‖g‖ + 1e−15)^grad_norm_power   (g per row, layer, K or V)
//   logits = GPT-2(last token | past + Δ); "." and forbidden tokens scaled
//   p = softmax(logits)^fusion · p0^(1−fusion), normalised over all beams' rows
// then the reference's beam search on log p with length-normalised scores.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nets/clip.hpp"
#include "nets/gpt2.hpp"
#include "stages/captioning/candidate_texts.hpp"
#include "stages/captioning/captioner.hpp"
#include "stages/captioning/clip_text_encoder.hpp"
#include "text/clip_tokenizer.hpp"
#include "text/gpt2_tokenizer.hpp"
#include "zgseg/params.hpp"

namespace zgseg {

// Exact speed-ups beyond the CLIP text side (see candidate_texts.hpp).
struct ZeroCapSpeedups {
    CandidateTextOptions clip;
    // Segments whose beam searches run together as one batch of rows
    // (their searches are independent; 1 = one segment at a time, as the reference).
    int segments_per_batch = 8;

    static ZeroCapSpeedups reference() { return {CandidateTextOptions::reference(), 1}; }
};

struct ZeroCapBeam {
    std::string text;             // as generated, cleaned up like transformers 4.x decode (e.g. " dog.")
    double score = 0;             // length-normalised log-probability
    std::vector<int32_t> tokens;  // generated tokens (up to and including ".")
};

// Hooks into the loop, for golden tests against the Python reference.
struct ZeroCapTrace {
    // rows = the segment's beam rows at this step (1 at step 0).
    // Fused next-token distribution (rows, vocab) of segment `segment`.
    std::function<void(int segment, int step, const torch::Tensor& probs)> on_probs;
    // The first iteration's update of Δ, per layer {K, V}, each (rows, heads, S, hd).
    std::function<void(int segment, int step, const PastKeyValues& update)> on_first_update;
    // Each iteration's CLIP candidates of segment `segment`: logits (rows, V) of the shifted
    // forward and top (rows, K) int64 on the CPU, the ids the loop chose. The hook may
    // overwrite `top` in place (top.copy_(…)) to make the loop go on with other candidates:
    // a golden test takes the reference's set where the K-th logit is a near-tie.
    std::function<void(int segment, int step, int iteration, const torch::Tensor& logits, const torch::Tensor& top)>
        on_candidates;
    // Every discrete choice's margin, so that tests can assert there is no near-tie:
    //   "logit": per row and iteration, top-K membership: logit of the K-th − (K+1)-th
    //            token (not called when K = vocabulary: no boundary);
    //   "score": per step, the beam choice: average score of the B-th − (B+1)-th candidate.
    // value = the K-th / B-th value itself (for relative tolerances).
    std::function<void(int segment, int step, const std::string& kind, double margin, double value)> on_choice;
};

struct ZeroCapStats {
    int64_t segments = 0, token_steps = 0, iterations = 0;
    double lm_seconds = 0;  // GPT-2 forwards/backwards and the update
    // How far the top-K set can move between iterations (what the step cache's
    // hit rate depends on), summed over rows of iterations ≥ 1: the mean |Δ log p|
    // of a row's top-K tokens since the previous iteration, and the spacing of
    // log p at rank K (the gap from rank K − 16 to K + 16, / 32).
    double shift_sum = 0, spacing_sum = 0;
    int64_t shift_rows = 0;
    CandidateTextStats clip;
};

// The GPT-2 forbidden-token list of the reference (forbidden_tokens.npy as
// text: one id per line). Throws zgseg::Error naming the file and line.
std::vector<int64_t> read_forbidden_tokens(const std::filesystem::path& path);

class ZeroCapGenerator {
public:
    ZeroCapGenerator(const Gpt2& lm, const Gpt2Tokenizer& lm_tokenizer, const ClipText& clip_text,
                     const ClipTokenizer& clip_tokenizer, std::vector<int64_t> forbidden_tokens,
                     ZeroCapParams params, ZeroCapSpeedups speedups = {});

    // images: (S, D) L2-normalised CLIP image embeddings → per segment, its
    // beams, best (highest score) first.
    std::vector<std::vector<ZeroCapBeam>> generate(const torch::Tensor& images);

    void set_trace(ZeroCapTrace trace) { trace_ = std::move(trace); }
    const ZeroCapStats& stats() const { return stats_; }
    const ZeroCapParams& params() const { return params_; }

private:
    struct Search;  // one segment's beam search
    // Next-token log-probabilities for every active search: (Σ rows, vocab).
    torch::Tensor next_log_probs(int step, std::vector<Search*>& searches, const torch::Tensor& images);
    // The context-shift iterations: returns past + Δ (detached).
    PastKeyValues shift_past(int step, const torch::Tensor& last, const PastKeyValues& past, const torch::Tensor& p0,
                             const std::vector<std::string>& context_texts, const torch::Tensor& row_images,
                             std::vector<Search*>& searches);
    void adjust_special_tokens(int step, torch::Tensor& logits) const;
    void record_shift(const torch::Tensor& log_probs, torch::Tensor& previous, const torch::Tensor& top);
    void advance(Search& search, const torch::Tensor& log_probs, int step) const;
    const std::string& token_text(int64_t id);
    std::string context_text(const std::vector<int64_t>& tokens) const;
    std::vector<ZeroCapBeam> finish(const Search& search) const;

    const Gpt2& lm_;
    const Gpt2Tokenizer& lm_tokenizer_;
    CandidateTextEncoder candidates_;
    std::vector<int64_t> forbidden_;
    ZeroCapParams params_;
    ZeroCapSpeedups speedups_;
    int64_t end_token_ = 0;
    std::vector<int32_t> context_tokens_;     // <|endoftext|> + prompt
    std::vector<std::string> token_texts_;    // decode([id]) cache
    std::vector<bool> token_text_known_;
    ZeroCapTrace trace_;
    ZeroCapStats stats_;
};

// The Captioner: ZeroCap's beams re-ranked by CLIP cosine of "Image of a {beam}."
// with the segment embedding; label = the best beam cleaned up.
class ZeroCapCaptioner : public Captioner {
public:
    ZeroCapCaptioner(std::unique_ptr<ZeroCapGenerator> generator, const ClipTextEncoder& reranker)
        : generator_(std::move(generator)), reranker_(reranker) {}
    std::string name() const override { return "zerocap"; }
    std::vector<Caption> caption(const torch::Tensor& embeddings) override;

private:
    std::unique_ptr<ZeroCapGenerator> generator_;
    const ClipTextEncoder& reranker_;
};

// The decisions table's label clean-up: drop the final character only when it
// is "."; lower-case (ASCII); strip white space. " A dog." → "a dog".
std::string zerocap_label(const std::string& beam);

}  // namespace zgseg
