// Benchmark (disabled by default; no assertions on time): ZeroCap's first two
// token steps at full size (GPT-2 medium, CLIP ViT-L/14 text tower, random
// weights), with the exact speed-ups, and the CLIP-text FLOPs against the
// reference's way; then one row of 512 candidate strings through the CLIP
// text tower both ways, timed.
//   ZGSEG_BENCH_DIR=<models root with gpt2-medium and clip-vit-large-patch14-336>
//   ./bench_zerocap --gtest_also_run_disabled_tests
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "core/model_dir.hpp"
#include "stages/captioning/zerocap_timing.hpp"

using namespace zgseg;

TEST(BenchZeroCap, DISABLED_TokenSteps) {
    const char* dir = std::getenv("ZGSEG_BENCH_DIR");
    if (!dir) GTEST_SKIP() << "set ZGSEG_BENCH_DIR to a full-size models root (zgseg bench makes one in ~/.cache/zgseg/bench-models/full)";
    const char* threads = std::getenv("ZGSEG_BENCH_THREADS");
    torch::set_num_threads(threads ? std::atoi(threads) : 2);
    const ModelDirectory models(dir);
    const auto lm = Gpt2::load(models.folder("gpt2-medium"), torch::kCPU);
    const Gpt2Tokenizer lm_tokenizer(models.file("gpt2-medium", "vocab.json"), models.file("gpt2-medium", "merges.txt"));
    const auto clip = ClipText::load(models.folder("clip-vit-large-patch14-336"), torch::kCPU, torch::kFloat32);
    const ClipTokenizer clip_tokenizer(models.file("clip-vit-large-patch14-336", "vocab.json"),
                                       models.file("clip-vit-large-patch14-336", "merges.txt"));
    const auto forbidden = read_forbidden_tokens(models.file("gpt2-medium", "zerocap_forbidden_tokens.txt"));
    torch::manual_seed(0);
    const auto image = torch::randn({clip.projection_dim()});

    const auto t = time_zerocap_steps(lm, lm_tokenizer, clip, clip_tokenizer, forbidden, ZeroCapParams{},
                                      ZeroCapSpeedups{}, image);
    std::cout << "ZeroCap (5 iterations a step): step 0 (1 row) " << t.step0_seconds << " s, step 1 (5 rows) "
              << t.step1_seconds << " s; GPT-2 " << t.lm_seconds << " s, CLIP text " << t.clip_seconds
              << " s over both steps\n"
              << "  CLIP-text FLOPs over both steps: " << t.clip_flops / 1e12 << " TFLOP; the reference's way "
              << t.reference_clip_flops / 1e12 << " TFLOP; ratio " << t.reference_clip_flops / t.clip_flops << "x ("
              << t.strings << " strings, " << t.strings_encoded << " encoded)\n"
              << "  extrapolated 15-token caption: " << t.caption_seconds(15) << " s\n";

    // One row of 512 candidates, both ways, timed.
    std::vector<std::string> words;
    for (int i = 0; i < 512; ++i) words.push_back(" " + lm_tokenizer.decode({static_cast<int32_t>(1000 + 37 * i)}));
    const std::vector<std::string> prefix = {"Image of a small brown dog sitting on a"};
    const std::vector<std::vector<std::string>> candidates = {words};
    for (const auto& [name, options] : {std::pair{"speed-ups on", CandidateTextOptions{}},
                                        std::pair{"reference (padded to 77)", CandidateTextOptions::reference()}}) {
        CandidateTextEncoder encoder(clip, clip_tokenizer, options);
        const auto start = std::chrono::steady_clock::now();
        encoder.encode(prefix, candidates);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cout << "  512 candidate strings, " << name << ": " << s << " s, " << encoder.stats().flops / 1e12
                  << " TFLOP, " << encoder.stats().tokens << " token positions\n";
    }
}
