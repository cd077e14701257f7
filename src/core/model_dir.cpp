#include "core/model_dir.hpp"

#include <unistd.h>

#include <cstdlib>
#include <system_error>

#include "core/cache_dir.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {

const std::vector<ModelSpec>& default_model_specs() {
    static const std::vector<ModelSpec> specs = {
        {kDinoFolder, "facebook/dino-vits8", {"config.json", "model.safetensors"}},
        {kClipFolder, "openai/clip-vit-large-patch14-336",
         {"config.json", "model.safetensors", "vocab.json", "merges.txt"}},
        {kGpt2Folder, "openai-community/gpt2-medium", {"config.json", "model.safetensors", "vocab.json", "merges.txt"}},
        {kSbertFolder, "sentence-transformers/all-mpnet-base-v2",
         {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "modules.json",
          "1_Pooling/config.json"}},
    };
    return specs;
}

const ModelSpec& model_spec(const std::string& folder) {
    for (const auto& spec : default_model_specs())
        if (spec.folder == folder) return spec;
    throw Error("unknown network '" + folder + "'");
}

namespace {

// <prefix>/share/zgseg/<name> beside an installed <prefix>/bin/zgseg, else
// `source` (a folder of the source tree the binary was built from), else empty.
fs::path shipped_folder(const std::string& name, const fs::path& source) {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path installed = exe.parent_path().parent_path() / "share" / "zgseg" / name;
        if (fs::is_directory(installed, ec)) return installed;
    }
    return source;
}

}  // namespace

fs::path bundled_models_dir() {
#ifdef ZGSEG_SOURCE_DIR
    return shipped_folder("models", fs::path(ZGSEG_SOURCE_DIR) / "models");
#else
    return shipped_folder("models", {});
#endif
}

fs::path bundled_selftest_dir() {
#ifdef ZGSEG_SOURCE_DIR
    const fs::path source = fs::path(ZGSEG_SOURCE_DIR) / "tests" / "data";
    std::error_code ec;
    return shipped_folder("selftest", fs::is_directory(source, ec) ? source : fs::path());
#else
    return shipped_folder("selftest", {});
#endif
}

ModelDirectory::ModelDirectory(fs::path root) : root_(std::move(root)) {}

ModelDirectory ModelDirectory::resolve(const std::string& cli_value) {
    if (!cli_value.empty()) {
        ModelDirectory dir(cli_value);
        dir.origin_ = "--models";
        return dir;
    }
    if (const char* env = std::getenv("ZGSEG_MODELS"); env && *env) {
        ModelDirectory dir(env);
        dir.origin_ = "ZGSEG_MODELS";
        return dir;
    }
    // Not under $XDG_CACHE_HOME: the documented default (README "Models").
    ModelDirectory dir(home_folder() / ".cache" / "zgseg" / "models");
    dir.origin_ = "default";
    return dir;
}

fs::path ModelDirectory::file(const std::string& name, const std::string& filename) const {
    std::error_code ec;
    const fs::path own = root_ / name / filename;
    if (fs::exists(own, ec)) return own;
    const fs::path bundled = bundled_models_dir() / name / filename;
    if (!bundled.empty() && fs::exists(bundled, ec)) return bundled;
    return own;
}

std::vector<fs::path> ModelDirectory::missing_files(const std::vector<std::string>& networks) const {
    std::vector<fs::path> missing;
    std::error_code ec;
    for (const auto& name : networks)
        for (const auto& f : model_spec(name).required_files)
            if (!fs::exists(file(name, f), ec)) missing.push_back(root_ / name / f);
    return missing;
}

void ModelDirectory::require(const std::vector<std::string>& networks) const {
    const auto missing = missing_files(networks);
    if (missing.empty()) return;
    std::string list;
    for (size_t i = 0; i < missing.size(); ++i) list += (i ? ", " : "") + missing[i].string();
    throw Error("model files missing in " + root_.string() + " (chosen by " + origin_ + "): " + list +
                ". Provide them either way: (1) on a machine with internet run scripts/download_models.sh " +
                root_.string() + "; or (2) point --models DIR (or ZGSEG_MODELS) at a folder that already has them" +
                " (Hugging Face layout, see README 'Models').");
}

}  // namespace zgseg
