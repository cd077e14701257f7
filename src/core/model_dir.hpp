// The model directory: one sub-folder per network in Hugging Face layout.
//
//   <root>/dino-vits8/                  facebook/dino-vits8
//   <root>/clip-vit-large-patch14-336/  openai/clip-vit-large-patch14-336
//   <root>/gpt2-medium/                 openai-community/gpt2-medium
//   <root>/all-mpnet-base-v2/           sentence-transformers/all-mpnet-base-v2
//
// root = --models DIR, else $ZGSEG_MODELS, else ~/.cache/zgseg/models.
// Tokenizer files are also bundled with zgseg (models/ in the source tree), so
// tokenization works before any model is downloaded; a file in root wins.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

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

class ModelDirectory {
public:
    // cli_value: the --models flag (empty when not given).
    static ModelDirectory resolve(const std::string& cli_value);
    explicit ModelDirectory(std::filesystem::path root);

    const std::filesystem::path& root() const { return root_; }
    // How root was chosen ("--models", "ZGSEG_MODELS", "default").
    const std::string& origin() const { return origin_; }
    std::filesystem::path folder(const std::string& name) const { return root_ / name; }
    // root/name/file if it exists, else the bundled copy if that exists, else root/name/file.
    std::filesystem::path file(const std::string& name, const std::string& filename) const;

    // Files missing for the given networks (paths under root).
    std::vector<std::filesystem::path> missing_files(const std::vector<std::string>& networks) const;
    // Throws zgseg::Error listing every missing file and the two ways to provide them.
    void require(const std::vector<std::string>& networks) const;

private:
    std::filesystem::path root_;
    std::string origin_ = "default";
};

// The folder of tokenizer files bundled with zgseg (may not exist).
std::filesystem::path bundled_models_dir();

// The tiny models and expected outputs `zgseg selftest` compares against:
// <prefix>/share/zgseg/selftest in an installed bundle, else the source tree's
// tests/data (the same layout: nets/, embedding/). Empty when neither exists.
std::filesystem::path bundled_selftest_dir();

}  // namespace zgseg
