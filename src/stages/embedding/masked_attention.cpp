#include "stages/embedding/masked_attention.hpp"

namespace zgseg {

torch::Tensor masked_attention_with_global_subtraction(const torch::Tensor& q, const torch::Tensor& k,
                                                       const torch::Tensor& v, double scale,
                                                       const torch::Tensor& token_mask,
                                                       const EmbeddingParams& params, MaskedBlockStats* stats) {
    // T = 577 for ViT-L/14@336: the (B, H, T, T) probabilities are small
    // (16 heads × 577² floats = 21 MB per segment), so they are formed directly.
    const auto logits = torch::matmul(q, k.transpose(-2, -1)) * scale;  // (B, H, T, T)
    const auto probs = torch::softmax(logits, -1);                      // P
    // exp(L - max L) · M / Σ(...) equals P · M / Σ(P · M): the softmax's own
    // normaliser cancels, so the masked rows come from P directly.
    const auto mask = token_mask.unsqueeze(1).unsqueeze(2).to(probs.dtype());  // (B, 1, 1, T)
    auto masked = probs * mask;
    masked = masked / masked.sum(-1, /*keepdim=*/true);  // Pm; CLS column keeps the sum > 0

    const bool outputs_saliency = params.saliency == Saliency::Outputs;
    auto masked_out = torch::matmul(masked, v);  // (B, H, T, D)
    torch::Tensor cosine;                        // (B, H, T)
    if (outputs_saliency) {
        const auto plain_out = torch::matmul(probs, v);
        cosine = torch::cosine_similarity(masked_out, plain_out, -1, 1e-8);
    } else {
        cosine = torch::cosine_similarity(masked, probs, -1, 1e-8);
    }
    const auto saliency = cosine.mean({1, 2});  // (B)

    torch::Tensor weight = torch::zeros_like(saliency);
    if (params.global_subtraction) {
        weight = torch::exp(-(saliency + 1).pow(2) / (2.0 * params.sigma2));  // (B)
        // (Pm − w·P[:, :, 0, :])·V = Pm·V − w·(P[:, :, 0, :]·V): subtract the CLS
        // query's unmasked output row from every query row, per head.
        const auto cls_out = torch::matmul(probs.select(2, 0).unsqueeze(2), v);  // (B, H, 1, D)
        masked_out = masked_out - weight.view({-1, 1, 1, 1}) * cls_out;
    }
    if (stats) {
        stats->saliency = saliency;
        stats->weight = weight;
    }
    return masked_out;
}

}  // namespace zgseg
