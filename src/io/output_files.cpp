#include "io/output_files.hpp"

#include "zgseg/error.hpp"

namespace zgseg {

const std::vector<OutputFile>& output_files() {
    static const std::vector<OutputFile> files = {
        {OutputKind::Json, ".json", nullptr, false},
        {OutputKind::LabelMap, ".png", "label_map", true},
        {OutputKind::Embeddings, ".embeddings.safetensors", "embeddings", false},
        {OutputKind::Overlay, ".overlay.jpg", "overlay", true},
    };
    return files;
}

const OutputFile& output_file(OutputKind kind) {
    for (const auto& f : output_files())
        if (f.kind == kind) return f;
    throw Error("internal: an output kind without an entry in output_files()");
}

std::vector<std::filesystem::path> OutputPaths::all() const {
    std::vector<std::filesystem::path> paths;
    for (const auto& f : output_files()) paths.push_back(of(f.kind));
    return paths;
}

}  // namespace zgseg
