// Building blocks shared by the ViT (DINO) and CLIP towers: one pre-LN encoder
// block with a pluggable attention, and attention kernels. Linear, LayerNorm
// and the head split/merge come from layers.hpp (shared with the text networks).
//
// Networks here are plain structs of tensors plus free forward functions
// (llm.c style). Tensors live on the device/dtype chosen at load time.
// Shapes: B batch, T tokens, C width, H heads, D = C / H head width.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

#include "nets/layers.hpp"
#include "nets/weights.hpp"

namespace zgseg {

// The MLP activations of the vision towers (layers.hpp's Activation has no quick_gelu).
enum class MlpActivation { Gelu, QuickGelu };  // exact erf GELU; x·σ(1.702x)
torch::Tensor mlp_activate(const torch::Tensor& x, MlpActivation act);

// A Linear without bias (ViT with qkv_bias=false, CLIP's projections).
Linear load_linear_no_bias(Weights& w, const std::string& name, int64_t in, int64_t out);

// Pre-LN block: x += out(attn(norm1 x)); x += fc2(act(fc1(norm2 x))).
struct EncoderBlock {
    LayerNorm norm1;
    Linear query, key, value, out;
    LayerNorm norm2;
    Linear fc1, fc2;
    int64_t heads = 1;
    MlpActivation act = MlpActivation::Gelu;
};

// Receives q, k, v as (B, H, T, D), q NOT pre-scaled (multiply the logits
// q·kᵀ by `scale` = D^-0.5), and returns the per-head attention output
// (B, H, T, D), i.e. before the heads are merged and out-projected.
using AttentionFn = std::function<torch::Tensor(const torch::Tensor& q, const torch::Tensor& k,
                                                const torch::Tensor& v, double scale)>;

// How plain softmax attention is computed. Both never build a full T×T
// matrix per head at once: Fused is at::scaled_dot_product_attention (a
// flash-attention kernel on CPU and CUDA); Chunked loops over 1,024-query
// chunks one head at a time (matmul, softmax, matmul).
enum class AttentionKernel { Fused, Chunked };
torch::Tensor softmax_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                double scale, AttentionKernel kernel, bool causal = false);
AttentionFn standard_attention(AttentionKernel kernel = AttentionKernel::Fused, bool causal = false);

// The block's key projection of norm1(x): (B, T, C), channels head-major (h·D + d).
torch::Tensor block_keys(const EncoderBlock& block, const torch::Tensor& x);
// One full block with a caller-supplied attention: (B, T, C) → (B, T, C).
torch::Tensor encoder_block(const EncoderBlock& block, const torch::Tensor& x, const AttentionFn& attention);

}  // namespace zgseg
