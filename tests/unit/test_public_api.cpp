// The public API as a user of the library sees it: this test is built with
// include/ alone (no src/, no LibTorch or OpenCV headers), so it fails to
// compile when a public header needs a private type. It makes a
// ModelDirectory, loads a Pipeline from the tiny fixture networks and runs
// one image, in one call and in its two halves.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "e2e/cli_harness.hpp"
#include "zgseg/error.hpp"
#include "zgseg/pipeline.hpp"

using e2e::kData;
using e2e::TempDir;

TEST(PublicApi, AMissingModelFolderIsNamed) {
    TempDir dir;
    const auto models = zgseg::ModelDirectory::resolve((dir.path / "none").string());
    EXPECT_EQ(models.origin(), "--models");
    EXPECT_EQ(models.root(), dir.path / "none");
    zgseg::PipelineParams params;
    params.device = "cpu";
    try {
        zgseg::Pipeline::load(models, params);
        FAIL() << "loaded without models";
    } catch (const zgseg::Error& e) {
        EXPECT_NE(std::string(e.what()).find("dino-vits8"), std::string::npos) << e.what();
    }
}

TEST(PublicApi, LoadsAPipelineAndSegmentsAnImage) {
    TempDir dir;
    const zgseg::ModelDirectory models(e2e::make_tiny_models(dir.path / "models"));
    zgseg::PipelineParams params;
    params.device = "cpu";
    params.captioner = "vocab";
    params.vocab.vocab_file = (kData / "models-tiny/vocab.txt").string();
    params.candidates.dino_stride = 4;
    params.candidates.crf = false;
    const auto pipeline = zgseg::Pipeline::load(models, params, (dir.path / "cache").string());
    EXPECT_EQ(pipeline->captioner(), "vocab");
    EXPECT_EQ(pipeline->device(), "cpu");

    // A 64 × 48 picture: left half red, right half blue.
    const int width = 64, height = 48;
    std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3, 0);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) rgb[(static_cast<size_t>(y) * width + x) * 3 + (x < width / 2 ? 0 : 2)] = 255;
    const zgseg::PipelineResult once = pipeline->run(rgb.data(), width, height);
    EXPECT_EQ(once.captioner, "vocab");
    EXPECT_FALSE(once.nodes.empty());
    EXPECT_EQ(once.label_map.size(), static_cast<size_t>(once.work_width) * once.work_height);

    zgseg::StartedImage started = pipeline->start(rgb.data(), width, height);
    const zgseg::PipelineResult halves = pipeline->finish(std::move(started));
    EXPECT_EQ(halves.label_map, once.label_map);
    ASSERT_EQ(halves.nodes.size(), once.nodes.size());
    for (size_t i = 0; i < once.nodes.size(); ++i) EXPECT_EQ(halves.nodes[i].caption.label, once.nodes[i].caption.label);
    EXPECT_THROW(pipeline->finish(std::move(started)), zgseg::Error) << "an image finishes once";
}
