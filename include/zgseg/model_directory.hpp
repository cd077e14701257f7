// zgseg — where the networks' files are: one sub-folder per network in the
// Hugging Face layout (config.json, model.safetensors, tokenizer files).
//
//   <root>/dino-vits8/                  facebook/dino-vits8
//   <root>/clip-vit-large-patch14-336/  openai/clip-vit-large-patch14-336
//   <root>/gpt2-medium/                 openai-community/gpt2-medium
//   <root>/all-mpnet-base-v2/           sentence-transformers/all-mpnet-base-v2
//
// root = --models DIR, else $ZGSEG_MODELS, else ~/.cache/zgseg/models.
// Tokenizer files are also bundled with zgseg (models/ in the source tree), so
// tokenization works before any model is downloaded; a file in root wins.
// No LibTorch or OpenCV in this header.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace zgseg {

class ModelDirectory {
public:
    // cli_value: the --models flag (empty when not given): that folder, else
    // $ZGSEG_MODELS, else ~/.cache/zgseg/models.
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

}  // namespace zgseg
