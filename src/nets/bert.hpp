// BERT-family text encoders behind Sentence-BERT: BERT (all-MiniLM-L6-v2) and
// MPNet (all-mpnet-base-v2), with Hugging Face BertModel / MPNetModel
// semantics. Both are post-LayerNorm transformers with the same layer layout;
// they differ in their embeddings and in MPNet's relative position bias.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "nets/layers.hpp"

namespace zgseg {

// A network mapping padded token ids to per-token hidden states.
class TokenEncoder {
public:
    virtual ~TokenEncoder() = default;
    // ids: (B, T) int64 padded with pad_token_id(); mask: (B, T) 1 = token, 0 = padding.
    // Returns the last hidden states (B, T, hidden_size) in the model's dtype.
    virtual torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask) const = 0;
    virtual int64_t hidden_size() const = 0;
    virtual int64_t vocab_size() const = 0;
    virtual int64_t pad_token_id() const = 0;
    // Longest sequence the position table allows.
    virtual int64_t max_tokens() const = 0;
    virtual const char* name() const = 0;  // "bert" / "mpnet"
};

// Loads config.json + model.safetensors from `model_dir`, choosing the network
// by config.json's model_type ("bert" or "mpnet"). Throws zgseg::Error listing
// every unsupported config value, or every missing/unexpected/mis-shaped tensor.
std::unique_ptr<TokenEncoder> load_token_encoder(const std::filesystem::path& model_dir, torch::Device device,
                                                 torch::ScalarType dtype = torch::kFloat32);

// Hugging Face MPNet's bucketing of relative positions (key - query), bidirectional:
// exact buckets for small distances, logarithmic up to max_distance, per sign.
// relative_position: int64 tensor of any shape -> int64 buckets in [0, num_buckets).
torch::Tensor mpnet_relative_position_bucket(const torch::Tensor& relative_position, int64_t num_buckets = 32,
                                             int64_t max_distance = 128);

// One post-LayerNorm transformer layer (BERT and MPNet share it).
struct EncoderLayer {
    Linear query, key, value, attn_out;  // hidden -> hidden
    LayerNorm attn_norm;
    Linear intermediate;  // hidden -> intermediate
    Linear output;        // intermediate -> hidden
    LayerNorm out_norm;
    int64_t heads = 1;
    Activation act = Activation::GeluErf;

    // x: (B, T, C); bias: additive attention bias broadcastable to (B, heads, T, T).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias) const;  // -> (B, T, C)
};

}  // namespace zgseg
