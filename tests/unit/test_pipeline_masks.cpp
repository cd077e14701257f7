// Pipeline::caption_masks (Text Generation Quality's entry): a given mask is
// embedded and captioned exactly as the merge tree's node with that mask, and
// a mask at the original size is resized (nearest) to the working resolution
// before the same masked-attention embedding. Tiny random networks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/model_dir.hpp"
#include "e2e/cli_harness.hpp"
#include "golden/net_fixtures.hpp"
#include "io/image_loader.hpp"
#include "io/resample.hpp"
#include "nets/clip.hpp"
#include "stages/candidates/candidates.hpp"
#include "stages/embedding/segment_embedder.hpp"
#include "zgseg/error.hpp"
#include "zgseg/pipeline.hpp"

using namespace zgseg;
using e2e::kData;
using e2e::TempDir;

namespace {

// The same masked-attention embedding through two call paths (other batch
// shapes): the tiny CLIP vision tower's 5 blocks, 577-token sums, float32.
zgseg::testing::Tolerance vision_tower_tolerance(const torch::Tensor& want) {
    return zgseg::testing::float32_transformer(5, 577, zgseg::testing::magnitude(want),
                                               "5 blocks, 577-token attention, float32");
}

class CaptionMasks : public ::testing::Test {
protected:
    void SetUp() override {
        params_.device = "cpu";
        params_.captioner = "vocab";
        params_.vocab.vocab_file = (kData / "models-tiny/vocab.txt").string();
        params_.candidates.dino_stride = 4;  // a cheap stage 1 (--preset fast)
        params_.candidates.crf = false;
        pipeline_ = Pipeline::load(ModelDirectory(e2e::make_tiny_models(dir_.path / "models")), params_,
                                   (dir_.path / "cache").string());
        photo_ = load_image(kData / "voc-sample/JPEGImages/2011_000003.jpg");
    }

    TempDir dir_;
    PipelineParams params_;
    std::unique_ptr<Pipeline> pipeline_;
    LoadedImage photo_;
};

}  // namespace

// At the working resolution (shorter side = --dino-size) the resize is the
// identity, so each node's own mask must give back the node's embedding and caption.
TEST_F(CaptionMasks, SameAsTheMergeTreeNodes) {
    const auto [w, h] = shorter_side_resize(photo_.rgb.cols, photo_.rgb.rows, params_.candidates.dino_size);
    const auto rgb = resize_like_pil(photo_.rgb.data, photo_.rgb.cols, photo_.rgb.rows, w, h, ResampleFilter::Lanczos);
    const PipelineResult result = pipeline_->run(rgb.data(), w, h);
    ASSERT_EQ(result.work_width, w);
    ASSERT_EQ(result.work_height, h);
    ASSERT_GE(result.nodes.size(), 2u) << "stage 1 should find more than one leaf";

    std::vector<std::vector<uint8_t>> masks;
    for (const auto& node : result.nodes) {
        std::vector<uint8_t> mask(result.leaf_map.size(), 0);
        for (size_t i = 0; i < mask.size(); ++i)
            for (int32_t leaf : node.leaves) mask[i] |= result.leaf_map[i] == leaf ? 1 : 0;
        masks.push_back(std::move(mask));
    }
    const auto captions = pipeline_->caption_masks(rgb.data(), w, h, masks);
    ASSERT_EQ(captions.size(), result.nodes.size());
    for (size_t n = 0; n < captions.size(); ++n) {
        const auto& node = result.nodes[n];
        ASSERT_EQ(captions[n].embedding.size(), node.embedding.size());
        const auto a = torch::tensor(captions[n].embedding), b = torch::tensor(node.embedding);
        const auto tolerance = vision_tower_tolerance(b);
        zgseg::testing::expect_close("node " + std::to_string(n) + " embedding", a, b, tolerance);
        EXPECT_EQ(captions[n].caption.label, node.caption.label) << "node " << n;
        // A cosine of two unit vectors moves by about the embeddings' relative error.
        EXPECT_NEAR(captions[n].caption.clip_score, node.caption.clip_score,
                    2 * tolerance.rtol + zgseg::testing::float32_cosine(32).atol)
            << "node " << n;
    }
}

// At the photo's own size: the mask goes to the working resolution by torch's
// 'nearest' and through SegmentEmbedder, as the pipeline does for a node.
TEST_F(CaptionMasks, OriginalSizeMaskIsResizedNearestThenEmbedded) {
    const int W = photo_.rgb.cols, H = photo_.rgb.rows;
    std::vector<uint8_t> mask(static_cast<size_t>(W) * H, 0);
    for (int y = H / 5; y < H / 2; ++y)
        for (int x = W / 7; x < (2 * W) / 3; ++x) mask[static_cast<size_t>(y) * W + x] = 1;
    const auto captions = pipeline_->caption_masks(photo_.rgb.data, W, H, {mask});
    ASSERT_EQ(captions.size(), 1u);
    EXPECT_FALSE(captions[0].caption.label.empty());

    const auto [w, h] = shorter_side_resize(W, H, params_.candidates.dino_size);
    const auto full = torch::from_blob(mask.data(), {1, 1, H, W}, torch::kUInt8).to(torch::kFloat32);
    const auto work = torch::nn::functional::interpolate(
                          full, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kNearest))
                          .squeeze(1);  // (1, h, w)
    const ClipVision clip = ClipVision::load(kData / "nets/clip-vit-l14-336-tiny", torch::kCPU, torch::kFloat32);
    SegmentEmbedder embedder(clip, params_.embedding);
    embedder.set_image(clip_preprocess(torch::from_blob(photo_.rgb.data, {H, W, 3}, torch::kUInt8), clip.image_size()));
    const auto expected = embedder.embed(work)[0];
    const auto got = torch::tensor(captions[0].embedding);
    zgseg::testing::expect_close("mask at the photo's size", got, expected, vision_tower_tolerance(expected));
}

TEST_F(CaptionMasks, WrongMaskSizeIsAnError) {
    const std::vector<uint8_t> small(10, 1);
    EXPECT_THROW(pipeline_->caption_masks(photo_.rgb.data, photo_.rgb.cols, photo_.rgb.rows, {small}), Error);
}
