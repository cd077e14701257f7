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

#include "zgseg/model_directory.hpp"
#include "zgseg/params.hpp"
#include "zgseg/result.hpp"

namespace zgseg {

// One image after stage 1 (DINO keys, Ward tree, pruning, DenseCRF), waiting
// for stages 2–4. A batch starts the next image while this one finishes, so
// the CPU-heavy part of one image overlaps the network-heavy part of another.
// The image bytes given to Pipeline::start must stay alive until finish.
class StartedImage {
public:
    StartedImage(StartedImage&&) noexcept;
    StartedImage& operator=(StartedImage&&) noexcept;
    ~StartedImage();

private:
    friend class Pipeline;
    StartedImage();
    struct State;  // the image, stage 1's output and timings (src/stages/pipeline.cpp)
    std::unique_ptr<State> state_;
};

// Stages 2 and 3 on one given mask.
struct MaskCaption {
    std::vector<float> embedding;  // CLIP image embedding (unnormalised)
    Caption caption;
};

class Pipeline {
public:
    // Loads DINO, CLIP and the captioner's networks (GPT-2 for ZeroCap) from
    // `models` (ModelDirectory::resolve(folder) makes one); builds or reads the
    // vocabulary cache for the fast captioner. Throws zgseg::Error naming any
    // missing or unusable file.
    static std::unique_ptr<Pipeline> load(const ModelDirectory& models, const PipelineParams& params,
                                          const std::string& cache_dir = "");
    ~Pipeline();

    // rgb: height × width × 3 bytes, R,G,B order, upright.
    PipelineResult run(const uint8_t* rgb, int width, int height);

    // run() in two halves: stage 1, then stages 2–4. start() and finish() may
    // run at the same time on two threads for two different images (they use
    // different networks); neither may run twice at once.
    StartedImage start(const uint8_t* rgb, int width, int height);
    PipelineResult finish(StartedImage&& image);

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
    struct Impl;  // the networks, the captioner and the stages (src/stages/pipeline.cpp)
    std::unique_ptr<Impl> impl_;
};

}  // namespace zgseg
