#include "eval/prediction.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/json_bounded.hpp"
#include "core/safetensors.hpp"
#include "io/label_png.hpp"
#include "io/output_files.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::eval {

std::optional<Prediction> read_prediction(const fs::path& out_dir, const std::string& name, bool with_label_map) {
    Prediction p;
    p.json_path = output_paths(out_dir / name).json();
    std::error_code ec;
    if (!fs::exists(p.json_path, ec)) return std::nullopt;
    const std::string where = "prediction '" + p.json_path.string() + "'";

    std::ifstream in(p.json_path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json j;
    try {
        j = parse_bounded_json(text.str());
    } catch (const nlohmann::json::exception& e) {
        throw Error(where + " is not valid JSON (" + std::string(e.what()) + "); rewrite it, e.g. with zgseg batch --overwrite");
    }
    if (!j.is_object() || !j.contains("segments") || !j["segments"].is_array())
        throw Error(where + " has no 'segments' array; is it a zgseg output file?");

    std::set<int> ids;
    for (size_t i = 0; i < j["segments"].size(); ++i) {
        const auto& s = j["segments"][i];
        const std::string at = where + " segments[" + std::to_string(i) + "]";
        if (!s.is_object() || !s.contains("id") || !s["id"].is_number_integer() || s["id"].get<int64_t>() < 1 ||
            s["id"].get<int64_t>() > 65535)
            throw Error(at + ": needs an integer 'id' in 1..65535");
        if (!s.contains("label") || !s["label"].is_string()) throw Error(at + ": needs a string 'label'");
        PredictedSegment seg;
        seg.id = s["id"].get<int>();
        seg.label = s["label"].get<std::string>();
        seg.image_key = "segment/" + std::to_string(seg.id) + "/image";
        if (s.contains("embedding_keys") && s["embedding_keys"].is_object() && s["embedding_keys"].contains("image") &&
            s["embedding_keys"]["image"].is_string())
            seg.image_key = s["embedding_keys"]["image"].get<std::string>();
        if (!ids.insert(seg.id).second) throw Error(at + ": segment id " + std::to_string(seg.id) + " appears twice");
        p.segments.push_back(std::move(seg));
    }

    // Sibling files: the names the JSON gives, else zgseg's own (NAME.png, NAME.embeddings.safetensors).
    auto sibling = [&](OutputKind kind) {
        const char* key = output_file(kind).json_key;
        if (j.contains("files") && j["files"].is_object() && j["files"].contains(key) && j["files"][key].is_string()) {
            const fs::path given = j["files"][key].get<std::string>();
            if (given.has_filename() && given.filename() == given) return out_dir / given;  // no path tricks
        }
        return output_paths(out_dir / name).of(kind);
    };
    p.embeddings_path = sibling(OutputKind::Embeddings);
    if (!with_label_map) return p;
    const fs::path png = sibling(OutputKind::LabelMap);
    if (!fs::exists(png, ec)) throw Error(where + ": its label map '" + png.string() + "' is missing");
    try {
        p.label_map = read_label_png(png);
    } catch (const Error& e) {
        throw Error(where + ": unreadable label map (" + e.what() + ")");
    }
    return p;
}

std::vector<std::vector<float>> read_image_embeddings(const Prediction& prediction) {
    if (prediction.segments.empty()) return {};
    const auto file = SafetensorsFile::open(prediction.embeddings_path);  // throws naming the file
    std::vector<std::vector<float>> out;
    for (const auto& seg : prediction.segments) {
        const auto* t = file.find(seg.image_key);
        if (!t || t->shape.size() != 1 || t->numel() == 0)
            throw Error("embeddings '" + prediction.embeddings_path.string() + "': no 1-D tensor '" + seg.image_key +
                        "' for segment " + std::to_string(seg.id) + " (needed by --reassign st)");
        std::vector<float> v(static_cast<size_t>(t->numel()));
        for (int64_t i = 0; i < t->numel(); ++i) v[static_cast<size_t>(i)] = static_cast<float>(element_as_double(*t, i));
        if (!out.empty() && v.size() != out.front().size())
            throw Error("embeddings '" + prediction.embeddings_path.string() + "': '" + seg.image_key + "' has " +
                        std::to_string(v.size()) + " values, other segments " + std::to_string(out.front().size()));
        out.push_back(std::move(v));
    }
    return out;
}

}  // namespace zgseg::eval
