// Analytic floating-point operation counts of the networks' forward passes,
// in one place, for `zgseg bench`'s GFLOP/s column.
//
// Convention: a multiply-add is 2 FLOPs; only matrix products and
// convolutions are counted (layer norms, softmax, GELU, masks and additions
// are a few percent at these sizes and are left out). Shapes are the ones the
// code runs, padding included where the code pads.
#pragma once

#include <cstdint>
#include <vector>

namespace zgseg::flops {

// One pre- or post-LayerNorm transformer block over `tokens` tokens of width
// `hidden` with an MLP of width `inner` and full (T × T) attention:
//   q, k, v projections   2·T·C·3C
//   output projection     2·T·C·C
//   MLP                   2·T·C·I + 2·T·I·C
//   q·kᵀ and p·v          2·T·T·C + 2·T·T·C
double encoder_block(double tokens, double hidden, double inner);

// A patch-embedding convolution: `patches` outputs of `hidden` channels, each
// a dot product over 3·patch² inputs.
double patch_embedding(double patches, double hidden, double patch);

struct VitShape {
    int64_t hidden = 0, inner = 0, layers = 0, patch = 0;
};

// DINO's last-block keys (DinoVit::last_block_keys) for a rows × cols patch
// grid: patch embedding, blocks 0..L-2 in full, then only the last block's key
// projection (2·T·C·C).
double dino_keys(const VitShape& vit, int64_t rows, int64_t cols);

struct ClipVisionShape {
    VitShape vit;
    int64_t grid = 0;        // patches per side (image_size / patch)
    int64_t projection = 0;  // visual_projection output
};

// One standard CLIP image forward: patch embedding, all blocks over 1 + g²
// tokens, the projection of the CLS token.
double clip_image(const ClipVisionShape& clip);

// Stage 2 for `nodes` segments (SegmentEmbedder::set_image + embed): the
// unmasked blocks once, the last `masked_blocks` blocks once per segment
// (masked attention costs the same products as plain attention), then one
// projection per segment.
double segment_embedding(const ClipVisionShape& clip, int64_t masked_blocks, int64_t nodes);

// The reference's way: one full forward per segment.
double segment_embedding_unshared(const ClipVisionShape& clip, int64_t nodes);

struct TextShape {
    int64_t hidden = 0, inner = 0, layers = 0, projection = 0;
};

// CLIP's text tower (ClipText::encode) on strings of the given token counts:
// strings sorted by length, batches of `batch_size`, each batch padded to its
// longest string; one projection per string.
double clip_text(const TextShape& text, std::vector<int64_t> lengths, int64_t batch_size);

// A BERT/MPNet encoder on `strings` strings all padded to `padded_length`
// (SentenceEncoder::encode pads to the longest), no projection.
double sentence_encoder(const TextShape& text, int64_t strings, int64_t padded_length);

struct Gpt2Shape {
    int64_t hidden = 0, inner = 0, layers = 0, vocab = 0;
};

// One ZeroCap iteration on GPT-2: `beams` sequences, one new token each over a
// cached past of `past` tokens, logits over the vocabulary (the tied LM head),
// then the backward pass to the past keys/values. The weights are frozen, so
// the backward pass computes input gradients only: one product per forward
// product (dX = dY·Wᵀ), plus the two extra attention products (dQ and dK from
// dP, dV from P): about twice the forward.
double gpt2_zerocap_iteration(const Gpt2Shape& gpt2, int64_t beams, int64_t past);

}  // namespace zgseg::flops
