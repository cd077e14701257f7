// What the rows of `zgseg bench` share (bench/rows.hpp): the options, the
// networks (each loaded on first use, outside the timings, its load time
// recorded) and each stage's outputs, which later rows take as inputs.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/bench.hpp"
#include "bench/flops.hpp"
#include "cluster/prune.hpp"
#include "cluster/ward.hpp"
#include "core/model_dir.hpp"
#include "io/image_loader.hpp"
#include "nets/clip.hpp"
#include "nets/gpt2.hpp"
#include "nets/sentence_encoder.hpp"
#include "nets/vit.hpp"
#include "stages/captioning/clip_text_encoder.hpp"
#include "stages/captioning/vocab_captioner.hpp"
#include "stages/captioning/zerocap_timing.hpp"
#include "stages/merging/merge_tree.hpp"
#include "text/clip_tokenizer.hpp"
#include "text/gpt2_tokenizer.hpp"
#include "zgseg/params.hpp"

namespace zgseg::bench {

// "Image of a" is 3 GPT-2 tokens: ZeroCap's context at the last step of a
// caption of T tokens is 3 + T − 1 tokens long.
constexpr int64_t kZeroCapPromptTokens = 3;
constexpr int64_t kClipTextBatch = 256;  // ClipText's default batch size (for the FLOP count)

// A fresh folder under the system's temporary folder, removed with its contents.
struct TempFolder {
    std::filesystem::path path;
    TempFolder();
    ~TempFolder();
    TempFolder(const TempFolder&) = delete;
    TempFolder& operator=(const TempFolder&) = delete;
};

struct Context {
    BenchOptions o;
    torch::Device device{torch::kCPU};
    ModelDirectory models{std::filesystem::path()};
    TempFolder work;
    nlohmann::json load_seconds = nlohmann::json::object();  // network → seconds
    ZeroCapParams zerocap;
    EmbeddingParams embedding_params;
    CandidateParams candidate_params;
    std::vector<std::string> vocabulary;  // the bundled WordNet nouns

    // image
    LoadedImage image;
    std::vector<uint8_t> work_rgb;
    int work_w = 0, work_h = 0;
    torch::Tensor clip_image;  // (1, 3, S, S)
    // stage 1
    torch::Tensor descriptors;  // (rows·cols, C)
    int grid_rows = 0, grid_cols = 0;
    std::vector<WardMerge> linkage;
    WardStats ward_stats;
    PrunedPartition partition;
    std::vector<int32_t> leaf_map;
    std::vector<int64_t> leaf_heap_ids;
    // stages 2–4
    torch::Tensor masks;       // (N, h, w)
    torch::Tensor embeddings;  // (N, projection)
    std::filesystem::path vocab_slice;
    std::unique_ptr<VocabCaptioner> captioner;
    std::vector<Caption> captions;
    MergeOutcome merged;
    // ZeroCap's halves and eval
    std::vector<std::string> clip_texts;
    torch::Tensor gpt2_last;  // (beams, 1)
    PastKeyValues gpt2_past;  // per layer (beams, heads, P, hd)
    std::vector<std::vector<int64_t>> label_ids;
    // ZeroCap itself
    std::unique_ptr<Gpt2Tokenizer> gpt2_tokenizer;
    std::vector<int64_t> forbidden_tokens;
    ZeroCapStepTiming zerocap_timing;  // the last repetition's
    // zerocap_steps_reference's last repetition, which ran `zerocap_reference_iterations`
    // of the `zerocap.iterations` shift iterations per step (1 with --quick).
    ZeroCapStepTiming zerocap_reference_timing;
    int zerocap_reference_iterations = 0;

    // The networks, in float32, loaded on first use.
    DinoVit& dino();
    ClipVision& clip_vision();
    ClipText& clip_text();
    ClipTokenizer& clip_tokenizer();
    ClipTextEncoder& text_encoder();
    Gpt2& gpt2();
    SentenceEncoder& mpnet();

    // The shapes the FLOP counts need, from the loaded networks and config.json.
    flops::ClipVisionShape clip_shape();
    flops::TextShape clip_text_shape();
    // Each string's token count through CLIP's text tower.
    std::vector<int64_t> clip_lengths(const std::vector<std::string>& texts);

private:
    template <class Net, class Load>
    Net& load(std::unique_ptr<Net>& slot, const std::string& name, Load&& loader);

    std::unique_ptr<DinoVit> dino_;
    std::unique_ptr<ClipVision> clip_vision_;
    std::unique_ptr<ClipText> clip_text_;
    std::unique_ptr<ClipTokenizer> clip_tokenizer_;
    std::unique_ptr<ClipTextEncoder> text_encoder_;
    std::unique_ptr<Gpt2> gpt2_;
    std::unique_ptr<SentenceEncoder> mpnet_;
};

}  // namespace zgseg::bench
