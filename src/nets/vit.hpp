// DINO ViT (e.g. facebook/dino-vits8) in the Hugging Face ViTModel layout,
// used by stage 1 for dense last-block keys.
//
// Follows the reference extractor (ZeroGuidanceSeg dino_modules/feature_extractor.py
// on top of DINO's vision_transformer.py), not Hugging Face's own resizing:
// - the patch-embedding convolution may run with a stride below the patch size
//   (same weights), giving a grid of rows = 1+(H−p)//s by cols = 1+(W−p)//s;
// - position embeddings are resized with DINO's rule: skipped only when the
//   token count equals the trained grid's and H == W; otherwise the square grid
//   is resized bicubically (align_corners=False) with scale factors
//   ((rows+0.1)/√N, (cols+0.1)/√N) used as given (not recomputed from sizes);
// - keys are concatenated over heads d-major: channel d·heads + head.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "core/config.hpp"
#include "nets/transformer.hpp"

namespace zgseg {

struct VitConfig {
    int64_t hidden_size = 0, num_layers = 0, num_heads = 0, intermediate_size = 0;
    int64_t patch_size = 0, image_size = 0, num_channels = 3;
    double layer_norm_eps = 1e-12;
    bool qkv_bias = true;

    // Reads a ViTConfig config.json (missing keys take Hugging Face's defaults);
    // throws zgseg::Error listing every unsupported value.
    static VitConfig from(ModelConfig& config);
};

class DinoVit {
public:
    // model_dir holds config.json and model.safetensors (ViTModel, optionally
    // prefixed "vit." as saved from a task head).
    static DinoVit load(const std::filesystem::path& model_dir, torch::Device device, torch::ScalarType dtype);

    const VitConfig& config() const { return config_; }
    torch::Device device() const { return device_; }
    torch::ScalarType dtype() const { return dtype_; }
    void set_attention_kernel(AttentionKernel kernel) { kernel_ = kernel; }

    struct Grid {
        int64_t rows = 0, cols = 0;
        int64_t tokens() const { return rows * cols; }
    };
    // Patch grid of an H×W image at `stride`; throws if the stride or size is unusable.
    Grid grid(int64_t height, int64_t width, int64_t stride) const;

    // image (1, 3, H, W) normalised (any device/dtype; moved to the model's).
    // Patch + position embeddings with CLS first: (1, 1 + rows·cols, C).
    torch::Tensor embed(const torch::Tensor& image, int64_t stride) const;
    // Position embeddings for a rows×cols grid of an H×W image: (1, 1 + rows·cols, C).
    torch::Tensor position_embeddings(int64_t height, int64_t width, const Grid& grid) const;

    // Keys of the LAST block for every patch, CLS dropped: (rows·cols, C),
    // channel index d·heads + head. The last block's attention and MLP are skipped.
    torch::Tensor last_block_keys(const torch::Tensor& image, int64_t stride) const;

    struct Features {
        torch::Tensor keys;    // (rows·cols, C) as last_block_keys
        torch::Tensor tokens;  // (1 + rows·cols, C): final tokens after the last layer norm, CLS first
        Grid grid;
    };
    // Keys plus the full forward's final tokens.
    Features keys_and_tokens(const torch::Tensor& image, int64_t stride) const;

private:
    torch::Tensor run_blocks(torch::Tensor x, int64_t end) const;
    torch::Tensor reorder_keys(const torch::Tensor& keys) const;

    VitConfig config_;
    torch::Device device_ = torch::kCPU;
    torch::ScalarType dtype_ = torch::kFloat32;
    AttentionKernel kernel_ = AttentionKernel::Fused;

    torch::Tensor cls_token_;        // (1, 1, C)
    torch::Tensor pos_embed_;        // (1, 1 + N, C), N = (image_size / p)²
    torch::Tensor patch_weight_;     // (C, 3, p, p)
    torch::Tensor patch_bias_;       // (C)
    std::vector<EncoderBlock> blocks_;
    LayerNorm final_norm_;
};

}  // namespace zgseg
