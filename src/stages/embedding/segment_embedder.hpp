// Stage 2: a segment's CLIP image embedding by masked attention with global
// subtraction (paper §3.2; reference-notes §3).
//
// Exact speed-up over the reference: blocks [0, L − masked) do not depend on
// the mask, so they run once per image; all segments of a round then go
// through the last `masked` blocks together as one batch.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "nets/clip.hpp"
#include "stages/embedding/masked_attention.hpp"
#include "zgseg/params.hpp"

namespace zgseg {

// CLIP's input from an RGB image: squashed to S×S with PIL's bicubic filter
// (the reference's `.resize((S, S))`), scaled to [0, 1], CLIP-normalised.
// rgb: (H, W, 3) uint8 → (1, 3, S, S) float.
torch::Tensor clip_preprocess(const torch::Tensor& rgb, int64_t size);

// Soft patch masks: masks (N, h, w) in [0, 1] → (N, g·g), each patch the mean
// of the mask over its area (= F.interpolate(mode='area') to g×g, row-major).
torch::Tensor pool_masks_to_patches(const torch::Tensor& masks, int64_t grid);

class SegmentEmbedder {
public:
    SegmentEmbedder(const ClipVision& clip, EmbeddingParams params);

    // image: (1, 3, S, S) from clip_preprocess. Runs the unmasked blocks once.
    void set_image(const torch::Tensor& image);

    // masks (N, h, w) in [0, 1] at any resolution → (N, projection) unnormalised
    // embeddings. `stats`, when given, receives each masked block's saliency and
    // weight per segment. Segments go through in batches of `batch_size`
    // (0: the params' segments_per_batch, whose 0 means 1 on CPU, 16 on CUDA);
    // it bounds the memory of the masked blocks and changes no result beyond
    // float rounding.
    torch::Tensor embed(const torch::Tensor& masks, std::vector<MaskedBlockStats>* stats = nullptr,
                        int64_t batch_size = 0) const;

    // The reference's way, for the equivalence test and the benchmark: one full
    // forward (all blocks) per segment, no sharing.
    torch::Tensor embed_unshared(const torch::Tensor& image, const torch::Tensor& masks) const;

    // Table 3's first-row baseline: crop each mask's bounding box from the
    // working-resolution image, zero outside the mask, squash to S×S, unmasked
    // CLIP. rgb: (h, w, 3) uint8 at the masks' resolution.
    torch::Tensor embed_crop_and_mask(const torch::Tensor& rgb, const torch::Tensor& masks) const;

    int64_t first_masked_block() const;

private:
    torch::Tensor run_masked_blocks(torch::Tensor x, const torch::Tensor& token_mask,
                                    std::vector<MaskedBlockStats>* stats) const;

    const ClipVision& clip_;
    EmbeddingParams params_;
    torch::Tensor shared_tokens_;  // (1, T, C) after the unmasked blocks
};

}  // namespace zgseg
