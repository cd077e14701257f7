// Stage 2's attention: the paper's masked softmax with global subtraction
// (reference-notes §3), for one CLIP vision block and a batch of segments.
#pragma once

#include <torch/torch.h>

#include "zgseg/params.hpp"

namespace zgseg {

// What one masked block measured, per segment (for tests and the JSON log).
struct MaskedBlockStats {
    torch::Tensor saliency;  // (B) S_l: mean over heads and query rows of the cosine similarity
    torch::Tensor weight;    // (B) w = exp(-(S_l + 1)^2 / (2 sigma^2)); 0 without global subtraction
};

// q, k, v: (B, H, T, D) with q unscaled; token_mask: (B, T) with column 0 (CLS)
// equal to 1 and the segment's soft patch mask after it — the same mask for
// every query row and head. Returns the per-head output (B, H, T, D):
//   P  = softmax(q kᵀ · scale)                      unmasked probabilities
//   Pm = P ⊙ M / Σ_j (P ⊙ M)                          masked softmax
//   S  = mean_{h,i} cos(Pm[h,i,:], P[h,i,:])          (Saliency::Outputs: cos of Pm·V and P·V rows)
//   w  = exp(-(S+1)² / (2σ²))
//   out = (Pm − w · P[h, 0, :]) · V                   the CLS query's unmasked row, every query row
torch::Tensor masked_attention_with_global_subtraction(const torch::Tensor& q, const torch::Tensor& k,
                                                       const torch::Tensor& v, double scale,
                                                       const torch::Tensor& token_mask,
                                                       const EmbeddingParams& params, MaskedBlockStats* stats);

}  // namespace zgseg
