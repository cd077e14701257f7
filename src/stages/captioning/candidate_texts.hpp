// ZeroCap's CLIP side: the CLIP text features of "context + candidate token"
// for the top candidates of every beam, at every iteration. This is where the
// reference spends almost all of its FLOPs (5 beams × 512 strings padded to 77
// tokens per iteration), so it carries the exact speed-ups, each switchable to
// prove it changes nothing:
//   true_length   run each batch at its longest string, not padded to 77
//   prefix_cache  strings of a beam share their longest common token prefix:
//                 its keys/values are computed once (exact: the causal mask)
//   dedupe        identical strings encoded once
//   one_batch     all beams (and segments) of a step in one call
//   step_cache    within a token step the beam prefixes are fixed, so a string's
//                 feature is the same in every shift iteration: each string is
//                 encoded once per step and reused by later iterations, other
//                 beams and other segments (begin_step() forgets them)
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "nets/clip.hpp"
#include "text/clip_tokenizer.hpp"

namespace zgseg {

struct CandidateTextOptions {
    bool true_length = true;
    bool prefix_cache = true;
    bool dedupe = true;
    bool one_batch = true;
    bool step_cache = true;
    int64_t reference_length = 77;  // the reference's padding when true_length is off

    static CandidateTextOptions reference() { return {false, false, false, false, false, 77}; }
};

// What the text tower did, for the benchmark.
struct CandidateTextStats {
    int64_t calls = 0;            // encode() calls (one per ZeroCap iteration)
    int64_t strings = 0;          // strings asked for
    int64_t strings_encoded = 0;  // after dedupe and the step cache
    int64_t cache_hits = 0;       // strings whose feature an earlier call of the same step made
    int64_t tokens = 0;           // token positions run through the tower
    double flops = 0;             // analytic (ClipText::flops)
    double reference_flops = 0;   // the same strings, the reference's way (one row each, padded to 77)
    double seconds = 0;
};

class CandidateTextEncoder {
public:
    CandidateTextEncoder(const ClipText& tower, const ClipTokenizer& tokenizer, CandidateTextOptions options = {})
        : tower_(tower), tokenizer_(tokenizer), options_(options) {}

    // Row r's strings are prefixes[r] + candidates[r][k] (K per row, the same
    // K for every row). → (R, K, D) L2-normalised, float32.
    torch::Tensor encode(const std::vector<std::string>& prefixes,
                         const std::vector<std::vector<std::string>>& candidates);

    // A new token step: the step cache forgets its strings.
    void begin_step();

    const CandidateTextOptions& options() const { return options_; }
    const CandidateTextStats& stats() const { return stats_; }

private:
    // ids of the strings of one group (a row, or all rows when one_batch) → (n, D) unnormalised.
    torch::Tensor run_full(const std::vector<std::vector<int64_t>>& ids);
    torch::Tensor run_prefix_cached(const std::vector<std::vector<std::vector<int64_t>>>& groups);

    const ClipText& tower_;
    const ClipTokenizer& tokenizer_;
    CandidateTextOptions options_;
    CandidateTextStats stats_;
    // The step cache: rows [0, cached_) of cache_ (capacity, D) are the
    // L2-normalised features of the strings in cache_rows_ (string → row).
    torch::Tensor cache_;
    int64_t cached_ = 0;
    std::unordered_map<std::string, int64_t> cache_rows_;
};

}  // namespace zgseg
