// `zgseg bench`: times every stage of the pipeline, and the two halves of a
// ZeroCap iteration, on one real photo with full-size networks (random weights
// unless --models names real ones), and reports min/median seconds, analytic
// FLOPs, GFLOP/s and peak memory per stage, with the machine it ran on.
// No LibTorch in this header (the CLI includes it).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/random_models.hpp"

namespace zgseg::bench {

struct BenchOptions {
    std::string models;     // existing model folders to time instead of random ones (empty: random)
    std::string cache_dir;  // where the random models are made once (empty: ~/.cache/zgseg/bench-models)
    ModelSize model_size = ModelSize::Full;
    std::string image;      // empty: the VOC sample photo of the source tree
    std::string device = "auto";
    std::vector<std::string> stages;  // empty: the default set
    int repeat = 3;                   // at most this many timed repetitions per stage
    double max_stage_seconds = 120;   // ... and no new repetition once a stage has used this much
    int nodes = 20;                   // segments through stages 2 and 3
    int vocab_entries = 256;          // vocabulary slice whose cache build is timed (then extrapolated)
    int clip_texts = 2560;            // strings through the CLIP text tower (ZeroCap: beams × candidates)
    int caption_tokens = 15;          // ZeroCap caption length for the extrapolation
    int dino_stride = 2;
    int embed_batch = 0;              // stage 2's nodes a batch (0: the default, 1 on CPU, 16 on CUDA)
    bool quick = false;               // --quick: zerocap_steps_reference times 1 of its iterations per step
};

struct StageInfo {
    std::string name, title;
    bool default_on = true;
};
// Every stage `--stages` accepts, in run order.
std::vector<StageInfo> stage_list();

// Runs the benchmark; returns the report (what bench.json holds). Throws
// zgseg::Error (bad image, model folders) or zgseg::UsageError (unknown stage).
nlohmann::json run_bench(const BenchOptions& options);

// The report as a Markdown table with the machine and settings above it.
std::string format_report(const nlohmann::json& report);

}  // namespace zgseg::bench
