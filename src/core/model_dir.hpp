// The model directory's internals: the default networks' folder names and
// required files, and the folders bundled with zgseg. ModelDirectory itself is
// public (include/zgseg/model_directory.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "zgseg/model_directory.hpp"

namespace zgseg {

// The default networks' folder names under the model directory: every file
// that names a network uses these.
inline constexpr const char* kDinoFolder = "dino-vits8";
inline constexpr const char* kClipFolder = "clip-vit-large-patch14-336";
inline constexpr const char* kGpt2Folder = "gpt2-medium";
inline constexpr const char* kSbertFolder = "all-mpnet-base-v2";

struct ModelSpec {
    std::string folder;                       // sub-folder name, e.g. "dino-vits8"
    std::string hub_repo;                     // Hugging Face repository
    std::vector<std::string> required_files;  // what the network needs to load
};

// The four default networks, in pipeline order.
const std::vector<ModelSpec>& default_model_specs();
const ModelSpec& model_spec(const std::string& folder);

// The folder of tokenizer files bundled with zgseg (may not exist).
std::filesystem::path bundled_models_dir();

// The tiny models and expected outputs `zgseg selftest` compares against:
// <prefix>/share/zgseg/selftest in an installed bundle, else the source tree's
// tests/data (the same layout: nets/, embedding/). Empty when neither exists.
std::filesystem::path bundled_selftest_dir();

}  // namespace zgseg
