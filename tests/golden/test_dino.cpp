// DINO ViT golden tests: last-block keys of a tiny random facebook/dino-vits8
// look-alike against a Python re-implementation of the reference extractor's
// stride and position-embedding semantics (and against transformers' ViTModel
// where no position resize happens). Tolerances from float32 rounding
// (tests/tolerance.hpp); each check prints its max abs difference. Fixture: scripts/fixtures/nets_vision.py.
#include <gtest/gtest.h>

#include <iostream>

#include "golden/expect_close.hpp"
#include "golden/vision_fixture.hpp"
#include "nets/vit.hpp"
#include "error_of.hpp"
#include "zgseg/error.hpp"
#include "zgseg/runtime.hpp"

using namespace zgseg;
using namespace zgseg::testing;

namespace {

const fs::path kModel = kNetsData / "dino-vits8-tiny";
constexpr std::array<double, 3> kMean{0.485, 0.456, 0.406}, kStd{0.229, 0.224, 0.225};

struct DinoFixture : ::testing::Test {
    torch::NoGradGuard no_grad;
    std::map<std::string, torch::Tensor> expected = read_tensors(kNetsData / "dino_expected.safetensors");
    DinoVit net = DinoVit::load(kModel, torch::kCPU, torch::kFloat32);
    torch::Tensor crop() const {  // (1, 3, 56, 88): non-square
        return normalise(expected.at("image").slice(2, 0, 56).slice(3, 0, 88), kMean, kStd);
    }
    torch::Tensor square() const { return normalise(upscale(expected.at("image"), 2), kMean, kStd); }  // 224²
};

// The tiny ViT: 3 blocks; its longest sums run over the tokens (attention)
// or the 192-wide MLP, whichever is longer.
void expect_keys_close(const char* what, const torch::Tensor& got, const torch::Tensor& want, int tokens) {
    expect_close(what, got, want,
                 float32_transformer(3, std::max(tokens, 192), magnitude(want),
                                     "3 blocks, " + std::to_string(std::max(tokens, 192)) + "-term sums, float32"));
}

}  // namespace

TEST_F(DinoFixture, KeysAtStride2OnNonSquareImageMatchReference) {
    for (auto kernel : {AttentionKernel::Fused, AttentionKernel::Chunked}) {
        net.set_attention_kernel(kernel);
        const auto keys = net.last_block_keys(crop(), 2);  // 25×41 grid: 1,026 tokens, two query chunks
        expect_keys_close(kernel == AttentionKernel::Fused ? "stride 2 keys (fused attention)"
                                                           : "stride 2 keys (chunked attention)",
                          keys, expected.at("keys_crop_stride2"), 1 + 25 * 41);
    }
}

TEST_F(DinoFixture, KeysAtPatchSizeOnNonSquareImageMatchReference) {
    const auto g = net.grid(56, 88, 8);
    EXPECT_EQ(g.rows, 7);
    EXPECT_EQ(g.cols, 11);
    expect_keys_close("stride 8 keys", net.last_block_keys(crop(), 8), expected.at("keys_crop_stride8"), 1 + 7 * 11);
}

TEST_F(DinoFixture, SquareImageAtPatchSizeMatchesTransformersViTModel) {
    const auto f = net.keys_and_tokens(square(), 8);
    EXPECT_EQ(f.grid.rows, 28);
    EXPECT_EQ(f.grid.cols, 28);
    expect_keys_close("224x224 keys", f.keys, expected.at("keys_square_stride8"), 1 + 28 * 28);
    expect_keys_close("224x224 final tokens vs ViTModel", f.tokens, expected.at("tokens_square_stride8"), 1 + 28 * 28);
}

TEST_F(DinoFixture, GridFollowsTheReferenceFormula) {
    // 1 + (H − 8) // 2: the reference's own comment gives 109×164 for 224×334.
    EXPECT_EQ(net.grid(224, 334, 2).rows, 109);
    EXPECT_EQ(net.grid(224, 334, 2).cols, 164);
    EXPECT_EQ(net.grid(224, 298, 2).cols, 146);
    EXPECT_EQ(net.grid(224, 298, 4).tokens(), 55 * 73);
    EXPECT_NE(error_of([&] { net.grid(224, 298, 3); }).find("must divide the patch size"), std::string::npos);
    EXPECT_NE(error_of([&] { net.grid(7, 298, 2); }).find("smaller than one"), std::string::npos);
    EXPECT_NE(error_of([&] { net.last_block_keys(torch::zeros({2, 3, 16, 16}), 8); }).find("(1, 3, H, W)"),
              std::string::npos);
}

TEST_F(DinoFixture, LoadsAVitPrefixedFloat32Checkpoint) {
    // As saved from ViTForImageClassification: "vit." prefix plus a classifier head.
    TempDir dir;
    copy_model(kModel, dir.path, [](TensorList& t) {
        for (auto& [name, tensor] : t) name = "vit." + name;
        t.emplace_back("classifier.weight", torch::zeros({10, 48}));
        t.emplace_back("classifier.bias", torch::zeros({10}));
    });
    const auto prefixed = DinoVit::load(dir.path, torch::kCPU, torch::kFloat32);
    const double d = max_abs_diff(prefixed.last_block_keys(crop(), 8), net.last_block_keys(crop(), 8));
    std::cout << "prefixed fp32 copy vs committed fp16 file: max abs diff " << d << "\n";
    EXPECT_EQ(d, 0.0);  // the fixture's fp16 values are exact in fp32
}

TEST(DinoLoader, RefusesACheckpointListingEveryBadTensor) {
    TempDir dir;
    copy_model(kModel, dir.path, [](TensorList& t) {
        t.erase(std::remove_if(t.begin(), t.end(),
                               [](const auto& p) { return p.first == "encoder.layer.1.output.dense.bias"; }),
                t.end());
        t.emplace_back("encoder.layer.3.layernorm_before.weight", torch::ones({48}));
        for (auto& [name, tensor] : t)
            if (name == "layernorm.weight") tensor = torch::ones({47});
    });
    const std::string msg = error_of([&] { DinoVit::load(dir.path, torch::kCPU, torch::kFloat32); });
    std::cout << msg << "\n";
    EXPECT_NE(msg.find("missing encoder.layer.1.output.dense.bias [48]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected encoder.layer.3.layernorm_before.weight [48]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mis-shaped layernorm.weight: file has [47], expected [48]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("3 problems"), std::string::npos) << msg;
}

TEST(DinoLoader, RefusesAnUnsupportedConfigListingEveryValue) {
    TempDir dir;
    copy_model(kModel, dir.path, {}, [](nlohmann::json& c) {
        c["hidden_act"] = "relu";
        c["num_channels"] = 4;
        c["num_attention_heads"] = 5;
    });
    const std::string msg = error_of([&] { DinoVit::load(dir.path, torch::kCPU, torch::kFloat32); });
    std::cout << msg << "\n";
    EXPECT_NE(msg.find("'hidden_act' = 'relu' is not supported"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'num_channels' = 4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a multiple of num_attention_heads 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find((dir.path / "config.json").string()), std::string::npos) << msg;
}

TEST(DinoLoader, RefusesHalfPrecisionOnTheCpu) {
    const std::string msg = error_of([&] { DinoVit::load(kModel, torch::kCPU, torch::kFloat16); });
    EXPECT_NE(msg.find("cannot run in Half on cpu"), std::string::npos) << msg;
}

TEST_F(DinoFixture, HalfPrecisionOnCudaStaysCloseToFloat32) {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device: " << cuda_unavailable_reason();
    const auto want = expected.at("keys_crop_stride2");
    for (auto dtype : {torch::kFloat32, torch::kFloat16, torch::kBFloat16}) {
        const auto gpu = DinoVit::load(kModel, torch::kCUDA, dtype);
        const auto keys = gpu.last_block_keys(crop(), 2);
        EXPECT_EQ(keys.device().type(), torch::kCUDA);
        // Relative to the keys' scale: half precision carries ~3 significant digits;
        // fp32 convolutions may use TF32 on CUDA.
        const double rel = max_abs_diff(keys, want) / want.abs().max().item<double>();
        std::cout << c10::toString(dtype) << " on CUDA: max abs diff / max |key| = " << rel << "\n";
        EXPECT_LE(rel, dtype == torch::kFloat32 ? 1e-3 : dtype == torch::kFloat16 ? 1e-2 : 6e-2);
    }
}
