// The CLIP text embedding of a search query, prompted the way captions and
// class names are ("Image of a {query}.") so it is comparable with the
// segments' stored image embeddings. Torch-free header for the CLI.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace zgseg {

// clip_dir: the CLIP model folder; vocab_json / merges_txt: its tokenizer
// files; device: "auto", "cpu" or "cuda". Returns the L2-normalised (D)
// embedding of class_prompt(query).
std::vector<float> clip_query_embedding(const std::filesystem::path& clip_dir, const std::filesystem::path& vocab_json,
                                        const std::filesystem::path& merges_txt, const std::string& query,
                                        const std::string& device);

}  // namespace zgseg
