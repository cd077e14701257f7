// Speed and memory of the vision networks at full size with random weights
// (timings only, no assertions on them). Disabled by default; run with
//   ./bench_vision_nets --gtest_also_run_disabled_tests
// Environment: ZGSEG_BENCH_THREADS (default 2), ZGSEG_BENCH_DIR (default the
// system temp folder; the random CLIP-L model there takes 1.7 GB and is reused).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "nets/clip.hpp"
#include "nets/vit.hpp"
#include "nets/weights.hpp"
#include "unit/peak_memory.hpp"

namespace fs = std::filesystem;
using namespace zgseg;

namespace {

using Shapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

fs::path bench_dir() {
    const char* d = std::getenv("ZGSEG_BENCH_DIR");
    return d && *d ? fs::path(d) : fs::temp_directory_path();
}

void set_threads() {
    const char* t = std::getenv("ZGSEG_BENCH_THREADS");
    torch::set_num_threads(t && *t ? std::atoi(t) : 2);
    std::cout << "threads: " << torch::get_num_threads() << "\n";
}

// A model folder with `config` and small random values for every tensor in `shapes`.
fs::path random_model(const std::string& name, const nlohmann::json& config, const Shapes& shapes) {
    const fs::path dir = bench_dir() / name;
    if (fs::exists(dir / "model.safetensors")) return dir;
    fs::create_directories(dir);
    torch::manual_seed(0);
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& [n, s] : shapes) tensors.emplace_back(n, torch::randn(s) * 0.02);
    std::ofstream(dir / "config.json") << config.dump(2);
    const std::string bytes = serialize_tensors(tensors);
    std::ofstream(dir / "model.safetensors", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return dir;
}

void add_linear(Shapes& s, const std::string& name, int64_t in, int64_t out, bool bias = true) {
    s.push_back({name + ".weight", {out, in}});
    if (bias) s.push_back({name + ".bias", {out}});
}
void add_norm(Shapes& s, const std::string& name, int64_t c) {
    s.push_back({name + ".weight", {c}});
    s.push_back({name + ".bias", {c}});
}

fs::path dino_vits8() {
    const int64_t C = 384, I = 1536, L = 12;
    Shapes s{{"embeddings.cls_token", {1, 1, C}},
             {"embeddings.position_embeddings", {1, 785, C}},
             {"embeddings.patch_embeddings.projection.weight", {C, 3, 8, 8}},
             {"embeddings.patch_embeddings.projection.bias", {C}}};
    for (int64_t i = 0; i < L; ++i) {
        const std::string l = "encoder.layer." + std::to_string(i) + ".";
        for (const char* p : {"query", "key", "value"}) add_linear(s, l + "attention.attention." + p, C, C);
        add_linear(s, l + "attention.output.dense", C, C);
        add_linear(s, l + "intermediate.dense", C, I);
        add_linear(s, l + "output.dense", I, C);
        add_norm(s, l + "layernorm_before", C);
        add_norm(s, l + "layernorm_after", C);
    }
    add_norm(s, "layernorm", C);
    const nlohmann::json config = {{"model_type", "vit"}, {"hidden_size", C}, {"num_hidden_layers", L},
                                   {"num_attention_heads", 6}, {"intermediate_size", I}, {"patch_size", 8},
                                   {"image_size", 224}, {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-12},
                                   {"qkv_bias", true}};
    return random_model("zgseg_bench_dino_vits8", config, s);
}

void add_clip_tower(Shapes& s, const std::string& prefix, int64_t C, int64_t I, int64_t L) {
    for (int64_t i = 0; i < L; ++i) {
        const std::string l = prefix + "encoder.layers." + std::to_string(i) + ".";
        for (const char* p : {"q_proj", "k_proj", "v_proj", "out_proj"}) add_linear(s, l + "self_attn." + p, C, C);
        add_norm(s, l + "layer_norm1", C);
        add_linear(s, l + "mlp.fc1", C, I);
        add_linear(s, l + "mlp.fc2", I, C);
        add_norm(s, l + "layer_norm2", C);
    }
}

fs::path clip_l14_336() {
    const int64_t V = 1024, T = 768, P = 768;
    Shapes s{{"vision_model.embeddings.class_embedding", {V}},
             {"vision_model.embeddings.patch_embedding.weight", {V, 3, 14, 14}},
             {"vision_model.embeddings.position_embedding.weight", {577, V}},
             {"text_model.embeddings.token_embedding.weight", {49408, T}},
             {"text_model.embeddings.position_embedding.weight", {77, T}},
             {"visual_projection.weight", {P, V}},
             {"text_projection.weight", {P, T}},
             {"logit_scale", {}}};
    add_norm(s, "vision_model.pre_layrnorm", V);
    add_norm(s, "vision_model.post_layernorm", V);
    add_clip_tower(s, "vision_model.", V, 4096, 24);
    add_norm(s, "text_model.final_layer_norm", T);
    add_clip_tower(s, "text_model.", T, 3072, 12);
    const nlohmann::json config = {
        {"model_type", "clip"},
        {"projection_dim", P},
        {"text_config", {{"hidden_size", T}, {"intermediate_size", 3072}, {"num_attention_heads", 12},
                         {"num_hidden_layers", 12}, {"eos_token_id", 2}, {"vocab_size", 49408}}},
        {"vision_config", {{"hidden_size", V}, {"intermediate_size", 4096}, {"num_attention_heads", 16},
                           {"num_hidden_layers", 24}, {"patch_size", 14}, {"image_size", 336}}}};
    return random_model("zgseg_bench_clip_l14_336", config, s);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Multiply-adds ×2 of one pre-LN block over T tokens: qkv + out + MLP, and the two attention products.
double block_flops(double T, double C, double I) { return 2 * T * (4 * C * C + 2 * C * I) + 4 * T * T * C; }

}  // namespace

TEST(BenchVisionNets, DISABLED_DinoVitS8KeysAtStride2) {
    set_threads();
    torch::InferenceMode guard;
    const auto net_dir = dino_vits8();
    auto net = DinoVit::load(net_dir, torch::kCPU, torch::kFloat32);
    // A 500×375 photo resized to shorter side 224 → 224×298.
    const auto image = torch::randn({1, 3, 224, 298});
    const auto g = net.grid(224, 298, 2);
    const double T = 1.0 + static_cast<double>(g.tokens());
    const double flops = 11 * block_flops(T, 384, 1536) + 2 * T * 384 * 384 + 2 * (T - 1) * 384 * 192;
    std::cout << "DINO ViT-S/8 stride 2, 224x298 → " << g.rows << "x" << g.cols << " grid, " << T << " tokens, "
              << flops / 1e9 << " GFLOP\n";
    for (auto kernel : {AttentionKernel::Fused, AttentionKernel::Chunked}) {
        net.set_attention_kernel(kernel);
        test::reset_peak_rss();
        const double before = test::peak_rss_bytes() / 1048576.0;  // = resident now, weights included
        const auto t0 = std::chrono::steady_clock::now();
        const auto keys = net.last_block_keys(image, 2);
        const double s = seconds_since(t0);
        std::cout << (kernel == AttentionKernel::Fused ? "  fused (scaled_dot_product_attention): "
                                                       : "  chunked (1,024 queries, per head):   ")
                  << s << " s, " << flops / s / 1e9 << " GFLOP/s, peak RSS " << test::peak_rss_bytes() / 1048576.0
                  << " MiB (" << before << " MiB resident before), keys " << keys.sizes() << "\n";
    }
}

TEST(BenchVisionNets, DISABLED_ClipL14At336ImageForward) {
    set_threads();
    torch::InferenceMode guard;
    const auto net = ClipVision::load(clip_l14_336(), torch::kCPU, torch::kFloat32);
    const auto image = torch::randn({1, 3, 336, 336});
    const double flops = 24 * block_flops(577, 1024, 4096) + 2 * 576.0 * 1024 * 588;
    net.image_embedding(image);  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    const auto e = net.image_embedding(image);
    const double s = seconds_since(t0);
    std::cout << "CLIP ViT-L/14@336 image forward: " << s << " s, " << flops / 1e9 << " GFLOP, " << flops / s / 1e9
              << " GFLOP/s, embedding " << e.sizes() << "\n";
}

TEST(BenchVisionNets, DISABLED_ClipL14TextTowerOn2560Strings) {
    set_threads();
    torch::InferenceMode guard;
    const auto net = ClipText::load(clip_l14_336(), torch::kCPU, torch::kFloat32);
    std::vector<std::vector<int64_t>> ids;
    torch::manual_seed(1);
    double tokens = 0;
    for (int i = 0; i < 2560; ++i) {
        const int64_t n = 8 + i % 5;  // 10 tokens on average, start and end included
        std::vector<int64_t> s{49406};
        for (int64_t j = 0; j < n - 2; ++j) s.push_back(torch::randint(1, 49405, {1}).item<int64_t>());
        s.push_back(49407);
        tokens += static_cast<double>(n);
        ids.push_back(std::move(s));
    }
    const double flops = 12 * (2 * tokens * (4.0 * 768 * 768 + 2.0 * 768 * 3072)) + 2 * 2560.0 * 768 * 768;
    net.encode({ids.begin(), ids.begin() + 64});  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    const auto e = net.encode(ids);
    const double s = seconds_since(t0);
    std::cout << "CLIP-L text tower, 2,560 strings, " << tokens << " tokens: " << s << " s, ~" << flops / 1e9
              << " GFLOP (linear layers), " << flops / s / 1e9 << " GFLOP/s, embeddings " << e.sizes() << "\n";
}
