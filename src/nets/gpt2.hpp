// GPT-2 language model (Hugging Face GPT2LMHeadModel semantics), the frozen LM
// that ZeroCap steers through its past keys/values.
//
// Loaded from a Hugging Face folder: config.json + model.safetensors, either
// the hub layout (wte.weight, h.0.attn.c_attn.weight, ...) or the layout that
// save_pretrained writes for GPT2LMHeadModel ("transformer." prefix, optional
// lm_head.weight). The LM head is tied to wte. Old checkpoints' attention
// buffers (attn.bias, attn.masked_bias) are ignored.
//
// The forward pass is differentiable with respect to the past keys/values; it
// records autograd history whenever its inputs require grad, so callers that
// need no gradients wrap calls in torch::NoGradGuard.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "nets/layers.hpp"

namespace zgseg {

struct Gpt2Config {
    int64_t vocab_size = 0;
    int64_t n_positions = 0;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_inner = 0;  // MLP width (4 * n_embd unless the config says otherwise)
    double layer_norm_epsilon = 1e-5;
    Activation activation = Activation::GeluTanh;

    // Reads and validates config.json; throws zgseg::Error listing every
    // missing field and unsupported value.
    static Gpt2Config load(const std::filesystem::path& config_json);
    int64_t head_dim() const { return n_embd / n_head; }
};

// One layer's attention cache, as Hugging Face's legacy past_key_values tuple.
struct KeyValue {
    torch::Tensor key;    // (B, heads, S, hd)
    torch::Tensor value;  // (B, heads, S, hd)
};
using PastKeyValues = std::vector<KeyValue>;  // one per layer

struct Gpt2Output {
    torch::Tensor logits;    // (B, T, vocab), or (B, 1, vocab) with LogitsFor::Last
    PastKeyValues presents;  // per layer: past concatenated with this call's K/V, (B, heads, P+T, hd)
};

class Gpt2 {
public:
    enum class LogitsFor { All, Last };

    // `model_dir` holds config.json and model.safetensors. Weights are
    // converted to `dtype` on `device` (float32 on CPU; float16/bfloat16 are
    // meant for CUDA). Throws zgseg::Error naming every problem.
    static Gpt2 load(const std::filesystem::path& model_dir, torch::Device device,
                     torch::ScalarType dtype = torch::kFloat32);

    // input_ids: (B, T) int64, tokens at positions P..P+T-1.
    // past: empty, or n_layer entries of (B, heads, P, hd) in the model's dtype;
    //       gradients flow into them when they require grad.
    // attention_mask: undefined, or (B, P+T) with 1 = attend, 0 = ignore (padding).
    // Positions are P.. for every row (as Hugging Face without position_ids).
    Gpt2Output forward(const torch::Tensor& input_ids, const PastKeyValues& past = {},
                       const torch::Tensor& attention_mask = {}, LogitsFor logits_for = LogitsFor::All) const;

    const Gpt2Config& config() const { return config_; }
    torch::Device device() const { return wte_.device(); }
    torch::ScalarType dtype() const { return wte_.scalar_type(); }

private:
    struct Block {
        LayerNorm ln_1;
        Conv1D c_attn;       // n_embd -> 3 * n_embd (q | k | v)
        Conv1D attn_c_proj;  // n_embd -> n_embd
        LayerNorm ln_2;
        Conv1D c_fc;         // n_embd -> n_inner
        Conv1D mlp_c_proj;   // n_inner -> n_embd
    };

    // x: (B, T, C); attn_mask: (B or 1, 1, T, P+T) additive. Returns the new x and this layer's K/V.
    torch::Tensor block_forward(const Block& block, const torch::Tensor& x, const KeyValue* past,
                                const torch::Tensor& attn_mask, KeyValue& present) const;
    void check_inputs(const torch::Tensor& input_ids, const PastKeyValues& past,
                      const torch::Tensor& attention_mask) const;

    Gpt2Config config_;
    torch::Tensor wte_;  // (vocab, C), also the LM head
    torch::Tensor wpe_;  // (n_positions, C)
    std::vector<Block> blocks_;
    LayerNorm ln_f_;
};

}  // namespace zgseg
