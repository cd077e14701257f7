// Strings → CLIP text embeddings: the CLIP tokenizer (77-token context,
// truncation keeping the end token) and the text tower at true length.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "nets/clip.hpp"
#include "text/clip_tokenizer.hpp"

namespace zgseg {

class ClipTextEncoder {
public:
    ClipTextEncoder(const ClipText& tower, const ClipTokenizer& tokenizer) : tower_(tower), tokenizer_(tokenizer) {}

    // texts → (N, D) L2-normalised. Identical strings are encoded once.
    torch::Tensor encode(const std::vector<std::string>& texts) const;

    const ClipText& tower() const { return tower_; }

private:
    const ClipText& tower_;
    const ClipTokenizer& tokenizer_;
};

}  // namespace zgseg
