// Label reassignment (paper §4.1): each predicted segment gets the dataset
// class it is most similar to, with that cosine (thresholding is left to the
// caller, so one encoding serves every threshold of a sweep).
//
//   TT  TextMatcher: Sentence-BERT cosine between the segment's caption and
//       each class name, both as written (no prompt).
//   ST  SegmentMatcher: CLIP cosine between the segment's stored image
//       embedding and the text embedding of "Image of a {class}.".
//
// Class-name embeddings are computed once per (model, class list) and cached
// on disk as safetensors keyed by the model's fingerprint and a hash of the
// exact texts, written atomically and rebuilt when stale or corrupt.
//
// This header is torch-free so the CLI can include it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "eval/summary.hpp"

namespace zgseg::eval {

class TextMatcher {
public:
    // sbert_dir: a sentence-transformers folder (modules.json, weights,
    // vocab.txt). device: "auto", "cpu" or "cuda". Throws zgseg::Error naming
    // any unusable file.
    TextMatcher(const std::filesystem::path& sbert_dir, const std::vector<std::string>& class_names,
                const std::filesystem::path& cache_dir, const std::string& device);
    ~TextMatcher();
    TextMatcher(TextMatcher&&) noexcept;

    // Best class (index into class_names) and its cosine, per caption.
    // Captions seen before are not encoded again.
    std::vector<Match> match(const std::vector<std::string>& captions);
    // Cosine between a[i] and b[i] (Text Generation Quality).
    std::vector<double> similarity(const std::vector<std::string>& a, const std::vector<std::string>& b);

    bool cache_was_built() const;
    const std::filesystem::path& cache_file() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class SegmentMatcher {
public:
    // clip_dir: the CLIP model folder (config.json, model.safetensors);
    // vocab_json / merges_txt: its tokenizer files.
    SegmentMatcher(const std::filesystem::path& clip_dir, const std::filesystem::path& vocab_json,
                   const std::filesystem::path& merges_txt, const std::vector<std::string>& class_names,
                   const std::filesystem::path& cache_dir, const std::string& device);
    ~SegmentMatcher();
    SegmentMatcher(SegmentMatcher&&) noexcept;

    // Best class and its cosine per image embedding (any scale; normalised
    // here). Throws zgseg::Error when the length differs from the model's.
    std::vector<Match> match(const std::vector<std::vector<float>>& image_embeddings) const;

    bool cache_was_built() const;
    const std::filesystem::path& cache_file() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The CLIP prompt of a class name: "Image of a {name}." (the reference's
// 'mini' prompt, the same as the captioners use).
std::string class_prompt(const std::string& name);

}  // namespace zgseg::eval
