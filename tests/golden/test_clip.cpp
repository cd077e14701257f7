// CLIP golden tests against transformers' CLIPModel on a tiny random
// openai/clip-vit-large-patch14-336 look-alike: image and text features, the
// stage-2 entry points (tokens before the last 4 blocks, a caller-supplied
// masked attention in those blocks), both end-token pooling rules and the
// loader's refusals. Tolerances from float32 rounding (tests/tolerance.hpp);
// each check prints its max abs difference. Fixture: scripts/fixtures/nets_vision.py.
#include <gtest/gtest.h>

#include <iostream>

#include "golden/expect_close.hpp"
#include "golden/vision_fixture.hpp"
#include "nets/clip.hpp"
#include "error_of.hpp"
#include "zgseg/error.hpp"
#include "zgseg/runtime.hpp"

using namespace zgseg;
using namespace zgseg::testing;

namespace {

const fs::path kModel = kNetsData / "clip-vit-l14-336-tiny";
// The tiny vision tower: 5 blocks, its longest sums over the 577-token
// attention; the text tower: 2 blocks, 128-wide MLP, at most 77 tokens.
Tolerance vision_tolerance(const torch::Tensor& want) {
    return float32_transformer(5, 577, magnitude(want), "5 blocks, 577-token attention, float32");
}
Tolerance text_tolerance(const torch::Tensor& want) {
    return float32_transformer(2, 128, magnitude(want), "2 blocks, 128-wide MLP, float32");
}
constexpr std::array<double, 3> kMean{0.48145466, 0.4578275, 0.40821073};
constexpr std::array<double, 3> kStd{0.26862954, 0.26130258, 0.27577711};

std::map<std::string, torch::Tensor>& expected() {
    static auto e = read_tensors(kNetsData / "clip_expected.safetensors");
    return e;
}

torch::Tensor first_image() { return normalise(upscale(expected().at("image"), 3), kMean, kStd); }  // (1,3,336,336)

void expect_vision_close(const char* what, const torch::Tensor& got, const torch::Tensor& want) {
    expect_close(what, got, want, vision_tolerance(want));
}
void expect_text_close(const char* what, const torch::Tensor& got, const torch::Tensor& want) {
    expect_close(what, got, want, text_tolerance(want));
}

// Unpadded id lists from the fixture's padded (N, L) ids and lengths.
std::vector<std::vector<int64_t>> id_lists(const torch::Tensor& ids, const torch::Tensor& lengths) {
    std::vector<std::vector<int64_t>> out;
    for (int64_t i = 0; i < ids.size(0); ++i) {
        const auto row = ids[i].slice(0, 0, lengths[i].item<int64_t>()).contiguous();
        out.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
    }
    return out;
}

}  // namespace

TEST(ClipVision, ImageEmbeddingsMatchGetImageFeatures) {
    torch::NoGradGuard no_grad;
    const auto net = ClipVision::load(kModel, torch::kCPU, torch::kFloat32);
    EXPECT_EQ(net.num_blocks(), 5);
    EXPECT_EQ(net.image_size(), 336);
    EXPECT_EQ(net.heads(), 4);
    EXPECT_EQ(net.grid_size(), 24);
    const auto batch = torch::cat({first_image(), first_image().flip(3)}, 0);  // two different images
    expect_vision_close("image embeddings", net.image_embedding(batch), expected().at("image_embeds"));
}

TEST(ClipVision, Stage2EntryPointsMatchTransformersLayers) {
    torch::NoGradGuard no_grad;
    const auto net = ClipVision::load(kModel, torch::kCPU, torch::kFloat32);
    const int64_t begin = net.num_blocks() - 4;
    auto x = net.run_blocks(net.embed(first_image()), 0, begin);  // (1, 577, 64)
    expect_vision_close("tokens before the last 4 blocks", x[0], expected().at("tokens_before_last4"));

    // Additive log-mask over keys, the same for every query and head: exercises
    // the (B, heads, T, D) layout and the scale a stage-2 attention receives.
    const auto log_mask = expected().at("soft_key_mask").log().view({1, 1, 1, -1});
    const AttentionFn masked = [&](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                   double scale) {
        EXPECT_EQ(q.sizes(), (std::vector<int64_t>{1, 4, 577, 16}));
        EXPECT_DOUBLE_EQ(scale, 0.25);
        const auto logits = torch::matmul(q, k.transpose(-2, -1)) * scale + log_mask;  // (B, H, T, T)
        return torch::matmul(torch::softmax(logits, -1), v);                          // (B, H, T, D)
    };
    for (int64_t i = begin; i < net.num_blocks(); ++i) x = net.run_block_with_attention(i, x, masked);
    expect_vision_close("CLS embedding after 4 masked blocks", net.project_cls(x)[0], expected().at("masked_cls_embed"));

    // The standard attention through the same hook gives the standard forward.
    auto y = net.run_blocks(net.embed(first_image()), 0, begin);
    for (int64_t i = begin; i < net.num_blocks(); ++i) y = net.run_block_with_attention(i, y, standard_attention());
    expect_vision_close("standard attention through the hook", net.project_cls(y), expected().at("image_embeds")[0].unsqueeze(0));
    EXPECT_THROW(net.run_block_with_attention(net.num_blocks(), y, standard_attention()), Error);
    EXPECT_THROW(net.embed(torch::zeros({1, 3, 224, 224})), Error);
}

TEST(ClipText, ArgmaxPoolingMatchesGetTextFeaturesOnStringsOfDifferentLengths) {
    torch::NoGradGuard no_grad;
    auto net = ClipText::load(kModel, torch::kCPU, torch::kFloat32);
    EXPECT_EQ(net.pooling(), ClipText::Pooling::ArgmaxId);  // config eos_token_id == 2, as openai's
    const auto ids = id_lists(expected().at("text_ids"), expected().at("text_lengths"));
    expect_text_close("text embeddings (argmax pooling)", net.encode(ids), expected().at("text_embeds_argmax"));
    net.set_batch_size(2);  // batches at their own longest length give the same rows
    expect_text_close("text embeddings in batches of 2", net.encode(ids), expected().at("text_embeds_argmax"));
}

TEST(ClipText, FirstEosPoolingMatchesGetTextFeatures) {
    torch::NoGradGuard no_grad;
    TempDir dir;
    copy_model(kModel, dir.path, {}, [](nlohmann::json& c) { c["text_config"]["eos_token_id"] = 500; });
    const auto net = ClipText::load(dir.path, torch::kCPU, torch::kFloat32);
    EXPECT_EQ(net.pooling(), ClipText::Pooling::FirstEos);
    const auto ids = id_lists(expected().at("text_ids_first_eos"), expected().at("text_lengths_first_eos"));
    // The sequences hold larger ids than 500, so the argmax rule would pool elsewhere.
    for (const auto& s : ids) EXPECT_NE(net.pooling_position(s), std::max_element(s.begin(), s.end()) - s.begin());
    expect_text_close("text embeddings (first-eos pooling)", net.encode(ids), expected().at("text_embeds_first_eos"));
    EXPECT_NE(error_of([&] { net.encode({{998, 5, 6}}); }).find("no end token (id 500)"), std::string::npos);
    EXPECT_NE(error_of([&] { net.encode({std::vector<int64_t>(78, 500)}); }).find("between 1 and 77"), std::string::npos);
    EXPECT_NE(error_of([&] { net.encode({{1000, 500}}); }).find("outside the vocabulary"), std::string::npos);
}

TEST(ClipLoader, RefusesACheckpointListingEveryBadTensor) {
    TempDir dir;
    copy_model(kModel, dir.path, [](TensorList& t) {
        t.erase(std::remove_if(t.begin(), t.end(),
                               [](const auto& p) { return p.first == "vision_model.encoder.layers.2.mlp.fc1.bias"; }),
                t.end());
        t.emplace_back("vision_model.encoder.layers.5.layer_norm1.weight", torch::ones({64}));
        for (auto& [name, tensor] : t)
            if (name == "visual_projection.weight") tensor = torch::ones({32, 65});
    });
    const std::string msg = error_of([&] { ClipVision::load(dir.path, torch::kCPU, torch::kFloat32); });
    std::cout << msg << "\n";
    EXPECT_NE(msg.find("missing vision_model.encoder.layers.2.mlp.fc1.bias [256]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected vision_model.encoder.layers.5.layer_norm1.weight [64]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mis-shaped visual_projection.weight: file has [32, 65], expected [32, 64]"), std::string::npos)
        << msg;
    // The text tower ignores the vision half, so the same file loads as text.
    EXPECT_NO_THROW(ClipText::load(dir.path, torch::kCPU, torch::kFloat32));
}

TEST(ClipLoader, RefusesAnUnsupportedConfigListingEveryValue) {
    TempDir dir;
    copy_model(kModel, dir.path, {}, [](nlohmann::json& c) {
        c["vision_config"]["hidden_act"] = "relu";
        c["text_config"]["hidden_act"] = "gelu_new";
        c["text_config"]["num_attention_heads"] = 3;
    });
    const std::string msg = error_of([&] { ClipText::load(dir.path, torch::kCPU, torch::kFloat32); });
    std::cout << msg << "\n";
    EXPECT_NE(msg.find("vision_config: 'hidden_act' = 'relu' is not supported"), std::string::npos) << msg;
    EXPECT_NE(msg.find("text_config: 'hidden_act' = 'gelu_new' is not supported"), std::string::npos) << msg;
    EXPECT_NE(msg.find("text_config: hidden_size 32 is not a multiple of num_attention_heads 3"), std::string::npos) << msg;
}

TEST(ClipLoader, OldStyleConfigDictsReplaceTheTowerConfigs) {
    // Pre-2023 configs carry text_config_dict / vision_config_dict; transformers
    // builds the towers from those (defaults for what they omit).
    TempDir dir;
    copy_model(kModel, dir.path, {}, [](nlohmann::json& c) {
        c["text_config_dict"] = c["text_config"];
        c["text_config"]["hidden_size"] = 999;  // ignored when the _dict is present
        c["vision_config_dict"] = c["vision_config"];
        c["vision_config_dict"].erase("hidden_act");  // default quick_gelu
        c["vision_config"]["num_hidden_layers"] = 1;
    });
    torch::NoGradGuard no_grad;
    const auto net = ClipVision::load(dir.path, torch::kCPU, torch::kFloat32);
    EXPECT_EQ(net.num_blocks(), 5);
    expect_vision_close("config with _dict overrides", net.image_embedding(first_image()), expected().at("image_embeds")[0].unsqueeze(0));
    EXPECT_NO_THROW(ClipText::load(dir.path, torch::kCPU, torch::kFloat32));
}

TEST(ClipLoader, RefusesHalfPrecisionOnTheCpu) {
    EXPECT_NE(error_of([&] { ClipVision::load(kModel, torch::kCPU, torch::kBFloat16); }).find("cannot run in BFloat16"),
              std::string::npos);
    EXPECT_NE(error_of([&] { ClipText::load(kModel, torch::kCPU, torch::kFloat16); }).find("cannot run in Half"),
              std::string::npos);
}

TEST(ClipVision, HalfPrecisionOnCudaStaysCloseToFloat32) {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device: " << cuda_unavailable_reason();
    torch::NoGradGuard no_grad;
    const auto want = expected().at("image_embeds")[0];
    for (auto dtype : {torch::kFloat32, torch::kFloat16, torch::kBFloat16}) {
        const auto vision = ClipVision::load(kModel, torch::kCUDA, dtype);
        const auto text = ClipText::load(kModel, torch::kCUDA, dtype);
        const double rel = max_abs_diff(vision.image_embedding(first_image())[0], want) / want.abs().max().item<double>();
        const auto ids = id_lists(expected().at("text_ids"), expected().at("text_lengths"));
        const auto tw = expected().at("text_embeds_argmax");
        const double trel = max_abs_diff(text.encode(ids), tw) / tw.abs().max().item<double>();
        std::cout << c10::toString(dtype) << " on CUDA: relative max diff image " << rel << ", text " << trel << "\n";
        // Relative to the largest value: fp32 ≪ 1e-3; fp16 (u = 4.9e-4) and bf16 (u = 3.9e-3) keep
        // activations in half precision between blocks, so ~20 u of the largest value.
        const double tol = dtype == torch::kFloat32 ? 1e-3 : dtype == torch::kFloat16 ? 1e-2 : 5e-2;
        EXPECT_LE(rel, tol);
        EXPECT_LE(trel, tol);
    }
}
