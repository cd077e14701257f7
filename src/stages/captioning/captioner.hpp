// Stage 3's interface: a strategy that turns segment embeddings into words.
// ZeroCap (faithful, slow) and the vocabulary captioner (fast) implement it;
// captioners.hpp lists them by name.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "zgseg/params.hpp"
#include "zgseg/result.hpp"

namespace zgseg {

class ClipText;
class ClipTextEncoder;
class ClipTokenizer;
class ModelDirectory;

class Captioner {
public:
    virtual ~Captioner() = default;
    virtual std::string name() const = 0;
    // embeddings: (N, D) CLIP image embeddings, unnormalised → N captions, each
    // with ranked candidates, the label's CLIP score and the text embedding of
    // "Image of a {raw}." used by the merging stage.
    virtual std::vector<Caption> caption(const torch::Tensor& embeddings) = 0;
};

// What a captioner is built from (captioners.cpp): the model directory and the
// run's parameters, and CLIP's text tower, which the Pipeline has loaded for
// stage 4. Networks only a captioner uses (ZeroCap's GPT-2) are its own.
struct CaptionerSetup {
    const ModelDirectory& models;
    const PipelineParams& params;
    const std::string& cache_dir;  // the vocabulary cache's folder ("": the default under cache_root())
    torch::Device device;
    const ClipText& clip_text;
    const ClipTokenizer& clip_tokenizer;
    const ClipTextEncoder& text_encoder;  // the two above, as stage 4 and the captioners encode text
};

// The prompt every caption is scored with: "Image of a {text}." (reference §4).
std::string prompted(const std::string& text);

}  // namespace zgseg
