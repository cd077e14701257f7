// CLIP (e.g. openai/clip-vit-large-patch14-336) in the Hugging Face
// CLIPModel layout: the vision tower for stage 2's masked-attention embedding,
// the text tower for captioning/merging. Both are built from one config.json
// and load their own half of the same model.safetensors.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "core/config.hpp"
#include "nets/transformer.hpp"

namespace zgseg {

struct ClipTowerConfig {
    int64_t hidden_size = 0, num_layers = 0, num_heads = 0, intermediate_size = 0;
    double layer_norm_eps = 1e-5;
    MlpActivation act = MlpActivation::QuickGelu;
};

struct ClipConfig {
    ClipTowerConfig vision, text;
    int64_t patch_size = 0, image_size = 0;
    int64_t vocab_size = 0, max_positions = 0, eos_token_id = 0;
    int64_t projection_dim = 0;

    // Reads text_config / vision_config (an old-style text_config_dict /
    // vision_config_dict replaces them, as in transformers); missing keys take
    // transformers' defaults. Throws zgseg::Error listing every unsupported value.
    static ClipConfig from(ModelConfig& config);
};

class ClipVision {
public:
    static ClipVision load(const std::filesystem::path& model_dir, torch::Device device, torch::ScalarType dtype);

    // image (B, 3, S, S) normalised, S = image_size() → tokens after the
    // pre-layer-norm, CLS first: (B, 1 + g², C), g = S / patch.
    torch::Tensor embed(const torch::Tensor& image) const;
    // Standard blocks [begin, end): (B, T, C) → (B, T, C).
    torch::Tensor run_blocks(torch::Tensor x, int64_t begin, int64_t end) const;
    // Block i with the caller's attention (see AttentionFn in transformer.hpp:
    // q, k, v are (B, heads, T, D), q unscaled, `scale` = D^-0.5; it returns the
    // per-head output (B, heads, T, D) that the block then merges and out-projects).
    torch::Tensor run_block_with_attention(int64_t i, const torch::Tensor& x, const AttentionFn& attention) const;
    // visual_projection(post_layernorm(x[:, 0])): (B, T, C) → (B, projection_dim), unnormalised.
    torch::Tensor project_cls(const torch::Tensor& x) const;
    // Full standard forward: (B, 3, S, S) → (B, projection_dim), unnormalised.
    torch::Tensor image_embedding(const torch::Tensor& image) const;

    int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
    int64_t image_size() const { return config_.image_size; }
    int64_t patch_size() const { return config_.patch_size; }
    int64_t grid_size() const { return config_.image_size / config_.patch_size; }
    int64_t heads() const { return config_.vision.num_heads; }
    int64_t hidden_size() const { return config_.vision.hidden_size; }
    int64_t projection_dim() const { return config_.projection_dim; }
    torch::Device device() const { return device_; }
    torch::ScalarType dtype() const { return dtype_; }

private:
    ClipConfig config_;
    torch::Device device_ = torch::kCPU;
    torch::ScalarType dtype_ = torch::kFloat32;
    torch::Tensor class_embedding_;  // (C)
    torch::Tensor patch_weight_;     // (C, 3, p, p), no bias
    torch::Tensor pos_embedding_;    // (1 + g², C)
    LayerNorm pre_norm_, post_norm_;
    std::vector<EncoderBlock> blocks_;
    torch::Tensor projection_;  // (projection_dim, C), no bias
};

class ClipText {
public:
    static ClipText load(const std::filesystem::path& model_dir, torch::Device device, torch::ScalarType dtype);

    // Token ids per string (start and end tokens included, as the tokenizer
    // makes them), any lengths up to max_length(). Runs in batches at each
    // batch's true longest length (the causal mask makes right padding exact)
    // and returns text_projection(final_layer_norm(token at the pooling
    // position)): (N, projection_dim), unnormalised, in input order.
    torch::Tensor encode(const std::vector<std::vector<int64_t>>& ids) const;

    // transformers' rule: a config with eos_token_id == 2 (pre-2023 CLIP
    // configs) pools at the first largest id; any other at the first eos_token_id.
    enum class Pooling { ArgmaxId, FirstEos };
    Pooling pooling() const { return config_.eos_token_id == 2 ? Pooling::ArgmaxId : Pooling::FirstEos; }
    int64_t pooling_position(const std::vector<int64_t>& ids) const;

    // The same, with every row right-padded with id 0 to `length` tokens (the
    // reference's 77): the slow way ZeroCap's reference encodes, kept to prove
    // that encoding at true length changes nothing.
    torch::Tensor encode_padded(const std::vector<std::vector<int64_t>>& ids, int64_t length) const;

    // Prefix caching. The causal mask makes a token's states depend only on
    // the tokens before it, so strings sharing a token prefix can reuse the
    // prefix's keys/values and run only their own tokens.
    struct Prefixes {
        std::vector<int64_t> lengths;                // P_i per prefix
        std::vector<torch::Tensor> keys, values;     // per block: (Np, H, Pmax, D), right-padded
    };
    Prefixes encode_prefixes(const std::vector<std::vector<int64_t>>& prefixes) const;
    // suffixes[n] continues prefix prefix_of[n] (≥ 1 token each); pool[n] is
    // the pooling position counted inside the suffix. → (N, projection_dim),
    // unnormalised, in input order; equal to encode() of the whole strings.
    torch::Tensor encode_suffixes(const Prefixes& prefixes, const std::vector<int64_t>& prefix_of,
                                  const std::vector<std::vector<int64_t>>& suffixes,
                                  const std::vector<int64_t>& pool) const;

    // Floating-point operations of running `tokens` new tokens that attend to
    // `keys` keys in total (Σ over the new tokens of the keys each sees).
    double flops(int64_t tokens, int64_t keys) const;

    int64_t max_length() const { return config_.max_positions; }
    int64_t vocab_size() const { return config_.vocab_size; }
    int64_t eos_token_id() const { return config_.eos_token_id; }
    int64_t projection_dim() const { return config_.projection_dim; }
    void set_batch_size(int64_t n) { batch_size_ = std::max<int64_t>(1, n); }
    int64_t batch_size() const { return batch_size_; }

private:
    torch::Tensor encode_batch(const std::vector<const std::vector<int64_t>*>& batch, int64_t pad_to = 0) const;
    torch::Tensor encode_rows(const std::vector<std::vector<int64_t>>& ids, int64_t pad_to) const;
    void check_ids(const std::vector<std::vector<int64_t>>& ids) const;

    ClipConfig config_;
    torch::Device device_ = torch::kCPU;
    torch::ScalarType dtype_ = torch::kFloat32;
    int64_t batch_size_ = 256;
    torch::Tensor token_embedding_;  // (vocab, C)
    torch::Tensor pos_embedding_;    // (max_positions, C)
    std::vector<EncoderBlock> blocks_;
    LayerNorm final_norm_;
    torch::Tensor projection_;  // (projection_dim, C), no bias
};

}  // namespace zgseg
