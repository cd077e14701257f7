// Stage 3's interface: a strategy that turns segment embeddings into words.
// ZeroCap (faithful, slow) and the vocabulary captioner (fast) implement it.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "zgseg/result.hpp"

namespace zgseg {

class Captioner {
public:
    virtual ~Captioner() = default;
    virtual std::string name() const = 0;
    // embeddings: (N, D) CLIP image embeddings, unnormalised → N captions, each
    // with ranked candidates, the label's CLIP score and the text embedding of
    // "Image of a {raw}." used by the merging stage.
    virtual std::vector<Caption> caption(const torch::Tensor& embeddings) = 0;
};

// The prompt every caption is scored with: "Image of a {text}." (reference §4).
std::string prompted(const std::string& text);

}  // namespace zgseg
