// `zgseg inspect`: run one network on an input with zgseg's own
// preprocessing and write its outputs to a safetensors file, so a model
// folder can be checked against another implementation.
#pragma once

#include <filesystem>
#include <string>

namespace zgseg {

struct InspectRequest {
    std::string network;               // dino | clip-image | clip-text | gpt2 | sbert
    std::filesystem::path model_dir;   // the network's folder (Hugging Face layout)
    std::filesystem::path image;       // dino, clip-image
    std::filesystem::path text_jsonl;  // clip-text, gpt2, sbert: one JSON string per line
    std::filesystem::path out;         // FILE.safetensors
    int dino_size = 224, dino_stride = 2;
    std::string device = "cpu";
    bool overwrite = false;
};

// Writes the outputs and returns a one-line summary. Throws zgseg::Error.
//   dino:       "keys" (rows·cols, C) L2-normalised, "keys_raw", "grid" [rows, cols]
//   clip-image: "embedding" (1, D) unnormalised, "pixels" (1, 3, S, S)
//   clip-text:  "embeddings" (N, D) unnormalised, "ids/<i>"
//   gpt2:       "logits_last" (N, vocab) of each text's last position, "ids/<i>"
//   sbert:      "embeddings" (N, D) normalised, "ids/<i>"
std::string run_inspect(const InspectRequest& request);

}  // namespace zgseg
