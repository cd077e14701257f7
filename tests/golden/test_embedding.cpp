// Stage 2 parity: masked-attention embeddings with global subtraction on the
// tiny CLIP fixture against a Python re-implementation of the reference
// algorithm on Hugging Face's modules (scripts/fixtures/embedding.py).
// Tolerance: 1e-5 absolute on embeddings, saliency and weight.
#include <gtest/gtest.h>

#include <iostream>

#include "core/safetensors.hpp"
#include "nets/weights.hpp"
#include "stages/embedding/segment_embedder.hpp"

using namespace zgseg;
namespace fs = std::filesystem;

namespace {

const fs::path kData = ZGSEG_TEST_DATA;
constexpr double kTolerance = 1e-5;

struct Fixture {
    SafetensorsFile file = SafetensorsFile::open(kData / "embedding/embedding_expected.safetensors");
    ClipVision clip = ClipVision::load(kData / "nets/clip-vit-l14-336-tiny", torch::kCPU, torch::kFloat32);
    torch::Tensor get(const std::string& name) const {
        return tensor_from_view(*file.find(name), file, torch::kCPU, torch::kFloat32).clone();
    }
    torch::Tensor pixels() const {
        const auto rgb = tensor_from_view(*file.find("rgb"), file, torch::kCPU, torch::kUInt8).clone();
        return clip_preprocess(rgb, clip.image_size());
    }
};

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
    EXPECT_EQ(a.sizes(), b.sizes());
    return (a - b).abs().max().item<double>();
}

void check_variant(const std::string& name, const EmbeddingParams& params) {
    Fixture f;
    SegmentEmbedder embedder(f.clip, params);
    embedder.set_image(f.pixels());
    std::vector<MaskedBlockStats> stats;
    const auto emb = embedder.embed(f.get("masks"), &stats, /*batch_size=*/2);  // batches of 2 and a lone one
    const double d = max_diff(emb, f.get(name + ".embeddings"));
    std::vector<torch::Tensor> sal, w;
    for (const auto& s : stats) {
        sal.push_back(s.saliency);
        w.push_back(s.weight);
    }
    const double ds = max_diff(torch::stack(sal, 1), f.get(name + ".saliency"));
    const double dw = max_diff(torch::stack(w, 1), f.get(name + ".weight"));
    std::cout << name << ": max abs diff embeddings " << d << ", saliency " << ds << ", weight " << dw << "\n";
    EXPECT_LE(d, kTolerance);
    EXPECT_LE(ds, kTolerance);
    EXPECT_LE(dw, kTolerance);
}

}  // namespace

TEST(SegmentEmbedding, GlobalSubtractionMatchesReference) { check_variant("default", {}); }

TEST(SegmentEmbedding, NoGlobalSubtractionMatchesReference) {
    EmbeddingParams p;
    p.global_subtraction = false;
    check_variant("no_subtraction", p);
}

TEST(SegmentEmbedding, OutputsSaliencyMatchesReference) {
    EmbeddingParams p;
    p.saliency = Saliency::Outputs;
    check_variant("outputs", p);
}

TEST(SegmentEmbedding, Sigma2IsUsed) {
    EmbeddingParams p;
    p.sigma2 = 1.0;
    check_variant("sigma2_1", p);
}

TEST(SegmentEmbedding, SharingBlocksAndBatchingChangeNothing) {
    Fixture f;
    SegmentEmbedder embedder(f.clip, {});
    const auto pixels = f.pixels();
    embedder.set_image(pixels);
    const auto masks = f.get("masks");
    const auto batched = embedder.embed(masks, nullptr, 16);
    const auto one_by_one = embedder.embed(masks, nullptr, 1);
    const auto unshared = embedder.embed_unshared(pixels, masks);  // the reference's way: full forward per node
    const double d1 = max_diff(batched, one_by_one), d2 = max_diff(batched, unshared);
    std::cout << "batched vs one-by-one " << d1 << ", shared vs unshared " << d2 << "\n";
    EXPECT_LE(d1, 1e-6);
    EXPECT_LE(d2, 1e-6);
}

TEST(SegmentEmbedding, FullMaskWithoutSubtractionIsThePlainEmbedding) {
    // A full mask leaves the attention unchanged (Pm = P, S = 1), so without the
    // subtraction the embedding is CLIP's ordinary image embedding.
    Fixture f;
    EmbeddingParams p;
    p.global_subtraction = false;
    SegmentEmbedder embedder(f.clip, p);
    embedder.set_image(f.pixels());
    const auto emb = embedder.embed(torch::ones({1, 56, 84}));
    const double d = max_diff(emb, f.get("plain_embedding"));
    std::cout << "full mask vs plain CLIP: " << d << "\n";
    EXPECT_LE(d, kTolerance);
}
