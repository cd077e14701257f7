#include "stages/embedding/masked_attention.hpp"

#include <algorithm>
#include <vector>

namespace zgseg {

namespace {

// Heads whose (B, h, T, T) matrices are alive at once. ViT-L/14@336 has 16
// heads and T = 577: for a batch of 16 segments one matrix over all heads is
// 341 MB, and P and two versions of Pm can be alive together; 4 heads at a
// time keep a quarter of that (measured: the bench's stage 2 alone peaks at
// 2518 MiB instead of 2610, in the same time). Every head's arithmetic is the
// same either way, and the saliency's mean is taken once over all heads.
constexpr int64_t kHeadsPerChunk = 4;

}  // namespace

torch::Tensor masked_attention_with_global_subtraction(const torch::Tensor& q, const torch::Tensor& k,
                                                       const torch::Tensor& v, double scale,
                                                       const torch::Tensor& token_mask,
                                                       const EmbeddingParams& params, MaskedBlockStats* stats) {
    const int64_t H = q.size(1);
    const auto mask = token_mask.unsqueeze(1).unsqueeze(2).to(q.dtype());  // (B, 1, 1, T)
    const bool outputs_saliency = params.saliency == Saliency::Outputs;
    std::vector<torch::Tensor> outs, cosines, cls_outs;
    for (int64_t h0 = 0; h0 < H; h0 += kHeadsPerChunk) {
        const int64_t h1 = std::min(H, h0 + kHeadsPerChunk);
        const auto qh = q.slice(1, h0, h1), kh = k.slice(1, h0, h1), vh = v.slice(1, h0, h1);  // (B, h, T, D)
        auto probs = torch::matmul(qh, kh.transpose(-2, -1)) * scale;  // (B, h, T, T) logits
        probs = torch::softmax(probs, -1);                               // P
        // exp(L - max L) · M / Σ(...) equals P · M / Σ(P · M): the softmax's own
        // normaliser cancels, so the masked rows come from P directly.
        auto masked = probs * mask;
        masked = masked / masked.sum(-1, /*keepdim=*/true);  // Pm; CLS column keeps the sum > 0
        auto masked_out = torch::matmul(masked, vh);         // (B, h, T, D)
        if (outputs_saliency) {
            cosines.push_back(torch::cosine_similarity(masked_out, torch::matmul(probs, vh), -1, 1e-8));  // (B, h, T)
        } else {
            cosines.push_back(torch::cosine_similarity(masked, probs, -1, 1e-8));
        }
        masked.reset();
        // The CLS query's unmasked output row, for the subtraction below: (B, h, 1, D).
        if (params.global_subtraction) cls_outs.push_back(torch::matmul(probs.select(2, 0).unsqueeze(2), vh));
        outs.push_back(std::move(masked_out));
    }
    const auto saliency = torch::cat(cosines, 1).mean({1, 2});  // (B)
    auto masked_out = torch::cat(outs, 1);                       // (B, H, T, D)

    torch::Tensor weight = torch::zeros_like(saliency);
    if (params.global_subtraction) {
        weight = torch::exp(-(saliency + 1).pow(2) / (2.0 * params.sigma2));  // (B)
        // (Pm − w·P[:, :, 0, :])·V = Pm·V − w·(P[:, :, 0, :]·V): subtract the CLS
        // query's unmasked output row from every query row, per head.
        masked_out = masked_out - weight.view({-1, 1, 1, 1}) * torch::cat(cls_outs, 1);
    }
    if (stats) {
        stats->saliency = saliency;
        stats->weight = weight;
    }
    return masked_out;
}

}  // namespace zgseg
