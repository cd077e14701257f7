// Stage 2 parity: masked-attention embeddings with global subtraction on the
// tiny CLIP fixture against a Python re-implementation of the reference
// algorithm on Hugging Face's modules (scripts/fixtures/embedding.py).
// Every check: max |a − b| ≤ atol + rtol·max |b| over the tensor (a relative
// max-norm: the error of a component is set by the scale of the reductions that
// made it, not by its own size). Each prints its max difference.
#include <gtest/gtest.h>

#include <iostream>

#include "core/safetensors.hpp"
#include "nets/weights.hpp"
#include "stages/embedding/segment_embedder.hpp"
#include "tolerance.hpp"

using namespace zgseg;
using zgseg::testing::Bound;
namespace fs = std::filesystem;

namespace {

const fs::path kData = ZGSEG_TEST_DATA;
// Against the Python reference: a ViT of 577 tokens, 2 blocks of ≤ 128-term
// reductions, then the masked blocks, rounded in another order (oneDNN/MKL vs
// PyTorch kernels): ~u·√577·(6 reductions) ≈ 1e-5 of the scale (u = 6e-8).
constexpr Bound kReference{1e-7, 1e-5};
// The same C++ network with other batch shapes (16, 1) or the unshared forward:
// only GEMM blocking and reduction order change, ~u·√128·(4 reductions) ≈ 3e-6
// of the scale (embeddings reach |x| ≈ 10, whose float32 ulp is 9.5e-7).
constexpr Bound kBatching{1e-7, 3e-6};

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

// max |a − b| against atol + rtol·max |b|; prints both.
void expect_close(const std::string& what, const torch::Tensor& a, const torch::Tensor& b, Bound t) {
    const double d = max_diff(a, b), bound = t.atol + t.rtol * b.abs().max().item<double>();
    std::cout << "[max diff] " << what << ": " << d << " (bound " << bound << " = " << t.atol << " + " << t.rtol
              << " x max|b|)\n";
    EXPECT_LE(d, bound) << what;
}

void check_variant(const std::string& name, const EmbeddingParams& params) {
    Fixture f;
    SegmentEmbedder embedder(f.clip, params);
    embedder.set_image(f.pixels());
    std::vector<MaskedBlockStats> stats;
    const auto emb = embedder.embed(f.get("masks"), &stats, /*batch_size=*/2);  // batches of 2 and a lone one
    expect_close(name + " embeddings", emb, f.get(name + ".embeddings"), kReference);
    std::vector<torch::Tensor> sal, w;
    for (const auto& s : stats) {
        sal.push_back(s.saliency);
        w.push_back(s.weight);
    }
    expect_close(name + " saliency", torch::stack(sal, 1), f.get(name + ".saliency"), kReference);
    expect_close(name + " weight", torch::stack(w, 1), f.get(name + ".weight"), kReference);
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
    expect_close("batched vs one-by-one", batched, one_by_one, kBatching);
    expect_close("shared vs unshared", batched, unshared, kBatching);

    // --embed-batch: the params' batch size is used when none is passed (0:
    // one at a time on a CPU); batches of 3 leave a short last batch here.
    EmbeddingParams by_three;
    by_three.segments_per_batch = 3;
    SegmentEmbedder embedder3(f.clip, by_three);
    embedder3.set_image(pixels);
    ASSERT_GT(masks.size(0), 3);
    expect_close("batches of 3 vs 16", embedder3.embed(masks), batched, kBatching);
    expect_close("default (CPU: 1) vs 1", embedder.embed(masks), one_by_one, kBatching);
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
    expect_close("full mask vs plain CLIP", emb, f.get("plain_embedding"), kReference);
}
