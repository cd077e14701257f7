// Timing ZeroCap without running whole captions: the first two token steps
// (step 0 has one row per segment, later steps one row per beam), split into
// GPT-2 and CLIP-text time, with the CLIP-text FLOPs spent against what the
// reference's way (every string padded to 77, one row at a time) would spend.
// Used by `zgseg bench` and the disabled benchmark test; random weights are
// fine since the work per step does not depend on the weight values.
#pragma once

#include <torch/torch.h>

#include "stages/captioning/zerocap.hpp"

namespace zgseg {

struct ZeroCapStepTiming {
    double step0_seconds = 0;      // one row
    double step1_seconds = 0;      // beam_size rows
    double lm_seconds = 0;         // both steps: GPT-2 forward/backward and updates
    double clip_seconds = 0;       // both steps: tokenising and encoding candidate strings
    int64_t iterations = 0;        // both steps
    double clip_flops = 0;         // both steps, as run
    double reference_clip_flops = 0;  // both steps, the reference's way
    int64_t strings = 0, strings_encoded = 0, cache_hits = 0;
    double shift = 0, spacing = 0;  // mean |Δ log p| of the top-K per iteration; log p spacing at rank K
    // A caption of `tokens` tokens ≈ step 0 + (tokens − 1) × step 1 (the
    // context grows by one token a step, so later steps cost slightly more).
    double caption_seconds(int tokens) const { return step0_seconds + (tokens - 1) * step1_seconds; }
};

// Runs the first two steps of one caption for `image` (D) with `generator`'s
// parameters (max_tokens is forced to 2 on a copy). With the reference's
// speed-ups (ZeroCapSpeedups::reference()) this is the reference's way.
ZeroCapStepTiming time_zerocap_steps(const Gpt2& lm, const Gpt2Tokenizer& lm_tokenizer, const ClipText& clip_text,
                                     const ClipTokenizer& clip_tokenizer, const std::vector<int64_t>& forbidden,
                                     ZeroCapParams params, ZeroCapSpeedups speedups, const torch::Tensor& image);

}  // namespace zgseg
