// Benchmark (disabled by default; no assertions on time): stage 2 for 20
// nodes on a 500×375 photo with a full-size CLIP ViT-L/14@336, zgseg's way
// (blocks 0–19 once, the last 4 blocks for all nodes as one batch) against the
// reference's way (one full forward per node).
//   ZGSEG_BENCH_CLIP=<folder of a full-size clip-vit-large-patch14-336>
//   ./bench_embedding --gtest_also_run_disabled_tests
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "stages/embedding/segment_embedder.hpp"

using namespace zgseg;

TEST(BenchEmbedding, DISABLED_TwentyNodesSharedVsIndependent) {
    const char* dir = std::getenv("ZGSEG_BENCH_CLIP");
    if (!dir) GTEST_SKIP() << "set ZGSEG_BENCH_CLIP to a full-size CLIP folder (scripts/make_random_models.py)";
    torch::set_num_threads(2);
    const auto clip = ClipVision::load(dir, torch::kCPU, torch::kFloat32);
    cv::Mat bgr = cv::imread(std::string(ZGSEG_TEST_DATA) + "/voc-sample/JPEGImages/2011_000025.jpg");
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const auto image = clip_preprocess(torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8), 336);
    // 20 masks at the working resolution: vertical stripes of growing width.
    auto masks = torch::zeros({20, 224, 298});
    for (int i = 0; i < 20; ++i) masks[i].slice(1, 0, 15 * (i + 1)) = 1;

    SegmentEmbedder embedder(clip, {});
    auto t0 = std::chrono::steady_clock::now();
    embedder.set_image(image);
    const auto shared = embedder.embed(masks, nullptr, 20);
    const double s_shared = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t0 = std::chrono::steady_clock::now();
    const auto independent = embedder.embed_unshared(image, masks);
    const double s_indep = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "stage 2, 20 nodes: shared blocks + one batch " << s_shared << " s; 20 independent forwards "
              << s_indep << " s; speed-up " << s_indep / s_shared << "x; max abs diff "
              << (shared - independent).abs().max().item<double>() << "\n";
}
