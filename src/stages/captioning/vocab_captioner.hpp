// The fast captioner (`--captioner vocab`): a segment's label is the
// vocabulary entry whose CLIP text embedding of "Image of a {entry}." is most
// similar to the segment's image embedding. Top-k entries are reported as the
// candidates, in the same JSON fields as ZeroCap's beams.
//
// The vocabulary's text embeddings are computed once per (model, vocabulary)
// and cached on disk as safetensors, keyed by hashes of both; the cache is
// written atomically and rebuilt when stale or corrupt.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "stages/captioning/captioner.hpp"
#include "stages/captioning/clip_text_encoder.hpp"
#include "text/vocabulary.hpp"

namespace zgseg {

// Identifies a CLIP model for cache keys without hashing gigabytes: its
// config.json, the safetensors header (names, shapes, offsets), the file size,
// and up to 1 MiB of weight bytes from the start and the end of the data.
std::string model_fingerprint(const std::filesystem::path& model_dir);

class VocabCaptioner : public Captioner {
public:
    // Loads the cached vocabulary embeddings from cache_dir, or computes and
    // caches them (logging how long it took).
    VocabCaptioner(const ClipTextEncoder& text, const std::string& model_fingerprint,
                   const std::filesystem::path& vocab_file, const std::filesystem::path& cache_dir, int top_k);

    std::string name() const override { return "vocab"; }
    std::vector<Caption> caption(const torch::Tensor& embeddings) override;

    const std::vector<std::string>& vocabulary() const { return vocabulary_; }
    const std::filesystem::path& cache_file() const { return cache_file_; }
    bool cache_was_built() const { return cache_was_built_; }

private:
    std::vector<std::string> vocabulary_;
    torch::Tensor text_embeddings_;  // (V, D) normalised, CPU float32
    std::filesystem::path cache_file_;
    bool cache_was_built_ = false;
    int top_k_;
};

}  // namespace zgseg
