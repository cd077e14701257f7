#include "nets/vit.hpp"

#include <cmath>

#include "zgseg/error.hpp"

namespace zgseg {

namespace fs = std::filesystem;

VitConfig VitConfig::from(ModelConfig& cfg) {
    VitConfig c;
    // Fallbacks are transformers' ViTConfig defaults, so a config saved without them reads the same.
    c.hidden_size = cfg.get_int("hidden_size", 768);
    c.num_layers = cfg.get_int("num_hidden_layers", 12);
    c.num_heads = cfg.get_int("num_attention_heads", 12);
    c.intermediate_size = cfg.get_int("intermediate_size", 3072);
    c.patch_size = cfg.get_int("patch_size", 16);
    c.image_size = cfg.get_int("image_size", 224);
    c.num_channels = cfg.get_int("num_channels", 3);
    c.layer_norm_eps = cfg.get_double("layer_norm_eps", 1e-12);
    c.qkv_bias = cfg.get_bool("qkv_bias", true);
    cfg.expect_one_of("model_type", {"vit"}, "vit");
    cfg.expect_one_of("hidden_act", {"gelu"}, "gelu");
    if (c.hidden_size <= 0 || c.num_layers <= 0 || c.num_heads <= 0 || c.intermediate_size <= 0)
        cfg.problem("hidden_size, num_hidden_layers, num_attention_heads and intermediate_size must be positive");
    else if (c.hidden_size % c.num_heads != 0)
        cfg.problem("hidden_size " + std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
                    std::to_string(c.num_heads));
    if (cfg.has("head_dim") && c.num_heads > 0 && cfg.get_int("head_dim") != c.hidden_size / c.num_heads)
        cfg.problem("'head_dim' must equal hidden_size / num_attention_heads");
    if (c.num_channels != 3) cfg.problem("'num_channels' = " + std::to_string(c.num_channels) + " is not supported (supported: 3)");
    if (c.patch_size <= 0 || c.image_size <= 0 || c.image_size % c.patch_size != 0)
        cfg.problem("'image_size' must be a positive multiple of 'patch_size' (a square position grid)");
    if (!(c.layer_norm_eps > 0)) cfg.problem("'layer_norm_eps' must be positive");
    cfg.check();
    return c;
}

DinoVit DinoVit::load(const fs::path& model_dir, torch::Device device, torch::ScalarType dtype) {
    check_run_dtype(device, dtype, "DINO ViT '" + model_dir.string() + "'");
    ModelConfig cfg = ModelConfig::load(model_dir / "config.json");
    DinoVit net;
    net.config_ = VitConfig::from(cfg);
    net.device_ = device;
    net.dtype_ = dtype;
    const VitConfig& c = net.config_;
    const int64_t C = c.hidden_size, p = c.patch_size, side = c.image_size / c.patch_size;

    Weights w(model_dir / "model.safetensors", device, dtype);
    if (!w.has("embeddings.cls_token") && w.has("vit.embeddings.cls_token")) {
        w.ignore_prefix("classifier.");  // ViTForImageClassification's head
        w.set_prefix("vit.");
    }
    w.ignore_prefix("pooler.");
    w.ignore_if_present("embeddings.mask_token");

    net.cls_token_ = w.get("embeddings.cls_token", {1, 1, C});
    net.pos_embed_ = w.get("embeddings.position_embeddings", {1, 1 + side * side, C});
    net.patch_weight_ = w.get("embeddings.patch_embeddings.projection.weight", {C, c.num_channels, p, p});
    net.patch_bias_ = w.get("embeddings.patch_embeddings.projection.bias", {C});
    const auto qkv = [&](const std::string& name) {
        return c.qkv_bias ? Linear::load(w, name, C, C) : load_linear_no_bias(w, name, C, C);
    };
    for (int64_t i = 0; i < c.num_layers; ++i) {
        const std::string l = "encoder.layer." + std::to_string(i) + ".";
        EncoderBlock b;
        b.norm1 = LayerNorm::load(w, l + "layernorm_before", C, c.layer_norm_eps);
        b.query = qkv(l + "attention.attention.query");
        b.key = qkv(l + "attention.attention.key");
        b.value = qkv(l + "attention.attention.value");
        b.out = Linear::load(w, l + "attention.output.dense", C, C);
        b.norm2 = LayerNorm::load(w, l + "layernorm_after", C, c.layer_norm_eps);
        b.fc1 = Linear::load(w, l + "intermediate.dense", C, c.intermediate_size);
        b.fc2 = Linear::load(w, l + "output.dense", c.intermediate_size, C);
        b.heads = c.num_heads;
        b.act = MlpActivation::Gelu;
        net.blocks_.push_back(std::move(b));
    }
    net.final_norm_ = LayerNorm::load(w, "layernorm", C, c.layer_norm_eps);
    w.finish();
    return net;
}

DinoVit::Grid DinoVit::grid(int64_t height, int64_t width, int64_t stride) const {
    const int64_t p = config_.patch_size;
    // The reference asserts the stride divides the patch size.
    if (stride < 1 || stride > p || p % stride != 0)
        throw Error("DINO stride " + std::to_string(stride) + " must divide the patch size " + std::to_string(p) +
                    " (e.g. 2, 4 or 8 for ViT-S/8)");
    if (height < p || width < p)
        throw Error("image " + std::to_string(height) + "x" + std::to_string(width) + " is smaller than one " +
                    std::to_string(p) + "x" + std::to_string(p) + " DINO patch");
    return Grid{1 + (height - p) / stride, 1 + (width - p) / stride};
}

torch::Tensor DinoVit::position_embeddings(int64_t height, int64_t width, const Grid& grid) const {
    const int64_t N = pos_embed_.size(1) - 1, C = config_.hidden_size;
    if (grid.tokens() == N && height == width) return pos_embed_;  // DINO's shortcut, kept for parity
    const int64_t side = config_.image_size / config_.patch_size;
    const double root = std::sqrt(static_cast<double>(N));
    // Scale factors passed through to the kernel (recompute_scale_factor=False): the
    // +0.1 keeps floor(side·scale) at the wanted size despite rounding.
    const std::vector<double> scales{(grid.rows + 0.1) / root, (grid.cols + 0.1) / root};
    const auto square = pos_embed_.slice(1, 1).to(torch::kFloat32).reshape({1, side, side, C}).permute({0, 3, 1, 2});
    const auto resized = at::upsample_bicubic2d(square, c10::nullopt, /*align_corners=*/false,
                                                c10::ArrayRef<double>(scales));  // (1, C, rows, cols)
    if (resized.size(2) != grid.rows || resized.size(3) != grid.cols)
        throw Error("internal: DINO position grid resized to " + std::to_string(resized.size(2)) + "x" +
                    std::to_string(resized.size(3)) + " instead of " + std::to_string(grid.rows) + "x" +
                    std::to_string(grid.cols));
    const auto patches = resized.permute({0, 2, 3, 1}).reshape({1, grid.tokens(), C}).to(dtype_);
    return torch::cat({pos_embed_.slice(1, 0, 1), patches}, 1);  // (1, 1 + rows·cols, C)
}

torch::Tensor DinoVit::embed(const torch::Tensor& image, int64_t stride) const {
    if (image.dim() != 4 || image.size(0) != 1 || image.size(1) != config_.num_channels)
        throw Error("DINO input must be one normalised RGB image shaped (1, 3, H, W); got " +
                    c10::str(image.sizes()));
    const Grid g = grid(image.size(2), image.size(3), stride);
    const auto x = image.to(device_, dtype_);
    auto patches = torch::conv2d(x, patch_weight_, patch_bias_, stride);  // (1, C, rows, cols)
    patches = patches.flatten(2).transpose(1, 2);                         // (1, rows·cols, C)
    auto tokens = torch::cat({cls_token_, patches}, 1);                   // (1, 1 + rows·cols, C)
    return tokens + position_embeddings(image.size(2), image.size(3), g);
}

torch::Tensor DinoVit::run_blocks(torch::Tensor x, int64_t end) const {
    const auto attention = standard_attention(kernel_);
    for (int64_t i = 0; i < end; ++i) x = encoder_block(blocks_[i], x, attention);
    return x;
}

torch::Tensor DinoVit::reorder_keys(const torch::Tensor& keys) const {
    // keys (1, 1 + T, C) with channels h·D + d → patches only, channels d·H + h
    // (the reference permutes B×H×T×D to B×T×D×H before flattening).
    const int64_t T = keys.size(1) - 1, H = config_.num_heads, C = config_.hidden_size;
    return keys[0].slice(0, 1).reshape({T, H, C / H}).transpose(1, 2).reshape({T, C});
}

torch::Tensor DinoVit::last_block_keys(const torch::Tensor& image, int64_t stride) const {
    const auto x = run_blocks(embed(image, stride), config_.num_layers - 1);
    return reorder_keys(block_keys(blocks_.back(), x));
}

DinoVit::Features DinoVit::keys_and_tokens(const torch::Tensor& image, int64_t stride) const {
    Features f;
    auto x = run_blocks(embed(image, stride), config_.num_layers - 1);
    f.grid = grid(image.size(2), image.size(3), stride);
    f.keys = reorder_keys(block_keys(blocks_.back(), x));
    x = encoder_block(blocks_.back(), x, standard_attention(kernel_));
    f.tokens = final_norm_.forward(x)[0];
    return f;
}

}  // namespace zgseg
