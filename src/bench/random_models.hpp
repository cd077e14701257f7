// Random-weight model folders in the real Hugging Face layout and shapes, for
// `zgseg bench`: speed does not depend on the weight values, so a benchmark
// needs no multi-gigabyte download. Made once and reused.
//
//   <root>/dino-vits8/                  config.json, model.safetensors       (21.7M parameters)
//   <root>/clip-vit-large-patch14-336/  + the bundled tokenizer files        (428M)
//   <root>/gpt2-medium/                 + the bundled tokenizer files        (355M)
//   <root>/all-mpnet-base-v2/           + modules.json, 1_Pooling/, tokenizer (109M)
//
// Weights: normal(0, 0.02) for matrices and embeddings, biases 0, layer-norm
// weights 1 (activations stay in a sane range through the depth), from a fixed
// seed. No LibTorch in this header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace zgseg::bench {

// Full: the real shapes. Tiny: the same layout with small widths and depths
// (real vocabularies, real image sizes) for a quick check of the bench itself.
enum class ModelSize { Full, Tiny };

// The four folders under `root`, created where missing (a folder counts as
// present once its model.safetensors exists: it is written last, atomically).
// Returns the names of the folders it created. Throws zgseg::Error when it
// cannot write (e.g. the disk is full; the full set takes 3.6 GB).
std::vector<std::string> ensure_random_models(const std::filesystem::path& root, ModelSize size, uint64_t seed = 0);

}  // namespace zgseg::bench
