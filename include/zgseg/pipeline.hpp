// zgseg — the library's entry point: load the networks once, then segment and
// caption images (stages 1–4). No LibTorch or OpenCV in this header.
//
//   auto pipeline = zgseg::Pipeline::load(zgseg::ModelDirectory::resolve(""), zgseg::PipelineParams{});
//   zgseg::PipelineResult result = pipeline->run(rgb, width, height);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zgseg/params.hpp"
#include "zgseg/result.hpp"

namespace zgseg {

class ModelDirectory;

// Stages 2 and 3 on one given mask.
struct MaskCaption {
    std::vector<float> embedding;  // CLIP image embedding (unnormalised)
    Caption caption;
};

class Pipeline {
public:
    // Loads DINO, CLIP (and GPT-2 for ZeroCap) from `models`; builds or reads
    // the vocabulary cache for the fast captioner. Throws zgseg::Error naming
    // any missing or unusable file.
    static std::unique_ptr<Pipeline> load(const ModelDirectory& models, const PipelineParams& params,
                                          const std::string& cache_dir = "");
    ~Pipeline();

    // rgb: height × width × 3 bytes, R,G,B order, upright.
    PipelineResult run(const uint8_t* rgb, int width, int height);

    // Stages 2 and 3 on given masks instead of stage 1's segments (Text
    // Generation Quality captions ground-truth segments this way). Each mask is
    // height × width bytes, non-zero inside; it is resized (nearest) to stage
    // 1's working resolution and embedded exactly as a merge-tree node is.
    std::vector<MaskCaption> caption_masks(const uint8_t* rgb, int width, int height,
                                           const std::vector<std::vector<uint8_t>>& masks);

    const PipelineParams& params() const;
    std::string device() const;     // "cpu" or "cuda"
    std::string captioner() const;  // "vocab" or "zerocap"

private:
    Pipeline();
    PipelineResult run_stages(const uint8_t* rgb, int width, int height);
    std::vector<MaskCaption> caption_given_masks(const uint8_t* rgb, int width, int height,
                                                 const std::vector<std::vector<uint8_t>>& masks);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace zgseg
