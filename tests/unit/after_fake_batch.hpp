// A hand-made batch folder in zgseg's output layout (NAME.json,
// NAME.embeddings.safetensors, NAME.overlay.jpg, NAME.png) with chosen
// embeddings, for the after-the-batch unit tests; no network runs.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/safetensors.hpp"

namespace after_test {

namespace fs = std::filesystem;

struct FakeSegment {
    int id;
    std::string label;
    std::vector<float> image;  // unnormalised CLIP image embedding
};

// Writes the four files of one image; the mask of segment k is column k of a
// 4×(segments) image.
inline void write_fake_image(const fs::path& out, const std::string& name, const std::vector<FakeSegment>& segments,
                             const std::string& clip_sha = "clip-sha-A") {
    const fs::path base = out / name;
    fs::create_directories(base.parent_path());
    std::vector<zgseg::TensorView> views;
    for (const auto& s : segments)
        views.push_back({"segment/" + std::to_string(s.id) + "/image", zgseg::DType::F32,
                         {static_cast<int64_t>(s.image.size())}, reinterpret_cast<const uint8_t*>(s.image.data()),
                         s.image.size() * sizeof(float)});
    std::ofstream(base.string() + ".embeddings.safetensors", std::ios::binary) << zgseg::serialize_safetensors(views);
    std::ofstream(base.string() + ".overlay.jpg") << "jpeg";
    std::ofstream(base.string() + ".png") << "png";
    const int h = 4, w = static_cast<int>(segments.size());
    nlohmann::json segs = nlohmann::json::array();
    for (size_t k = 0; k < segments.size(); ++k) {
        // Column k is inside: runs (zeros before, 4 ones, zeros after), as a pycocotools string.
        const int before = static_cast<int>(k) * h, after = (w - static_cast<int>(k) - 1) * h;
        std::string counts;
        for (int v : {before, h, after}) counts += static_cast<char>(48 + v);  // small runs: one character each
        segs.push_back({{"id", segments[k].id}, {"label", segments[k].label}, {"clip_score", 0.25}, {"area", h},
                        {"bbox", {k, 0, 1, h}}, {"mask", {{"size", {h, w}}, {"counts", counts}}}, {"heap_id", k + 1},
                        {"parent_heap_id", 0}, {"merged", false}});
    }
    const nlohmann::json doc = {{"schema_version", 1},
                                {"input", {{"path", "/src/" + name + ".jpg"}, {"width", w}, {"height", h}}},
                                {"models", {{"clip-vit-large-patch14-336", {{"config_sha256", clip_sha}}}}},
                                {"segments", segs}};
    std::ofstream(base.string() + ".json") << doc.dump(1);
}

}  // namespace after_test
