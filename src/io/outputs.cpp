#include "io/outputs.hpp"

#include <fstream>

#include "core/json_bounded.hpp"
#include "core/safetensors.hpp"
#include "io/atomic_file.hpp"
#include "io/label_png.hpp"
#include "io/overlay.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {

OutputPaths output_paths(const fs::path& base) {
    const std::string b = base.string();
    return {b + ".png", b + ".json", b + ".embeddings.safetensors", b + ".overlay.jpg"};
}

CocoRle rle_of_upsampled_label(const cv::Mat& labels, int id, int width, int height) {
    CocoRle rle;
    rle.width = width;
    rle.height = height;
    const int h = labels.rows, w = labels.cols;
    // Rows of the output that come from each source row: a run of equal length.
    std::vector<uint32_t> rows_from(h, 0);
    for (int y = 0; y < height; ++y) ++rows_from[static_cast<int64_t>(y) * h / height];
    bool inside = false;  // runs alternate, starting with zeros
    uint32_t run = 0;
    for (int x = 0; x < width; ++x) {  // column-major, as COCO
        const int sx = static_cast<int>(static_cast<int64_t>(x) * w / width);
        for (int sy = 0; sy < h; ++sy) {
            if (rows_from[sy] == 0) continue;
            const bool on = labels.at<int32_t>(sy, sx) == id;
            if (on != inside) {
                rle.counts.push_back(run);
                run = 0;
                inside = on;
            }
            run += rows_from[sy];
        }
    }
    rle.counts.push_back(run);
    return rle;
}

namespace {

nlohmann::json node_json(const Node& node, const cv::Mat& labels, int width, int height, bool with_mask) {
    nlohmann::json j;
    j["heap_id"] = node.heap_id;
    j["parent_heap_id"] = node.parent_heap_id;
    j["children_heap_ids"] = node.merged ? nlohmann::json::array({2 * node.heap_id + 1, 2 * node.heap_id + 2})
                                         : nlohmann::json::array();
    j["leaves"] = node.leaves;
    j["merged"] = node.merged;
    if (node.merged) j["merge_similarity"] = node.merge_similarity;
    j["final"] = node.final;
    j["label"] = node.caption.label;
    j["raw_caption"] = node.caption.raw;
    j["clip_score"] = node.caption.clip_score;
    nlohmann::json candidates = nlohmann::json::array();
    for (const auto& c : node.caption.candidates)
        candidates.push_back({{"text", c.text}, {"score", c.score}, {"clip_score", c.clip_score}});
    j["candidates"] = candidates;
    if (with_mask) {
        const auto rle = rle_of_upsampled_label(labels, node.segment_id, width, height);
        j["area"] = rle_area(rle);
        const auto box = rle_bbox(rle);
        j["bbox"] = {box[0], box[1], box[2], box[3]};
        j["mask"] = {{"size", {height, width}}, {"counts", rle_counts_to_string(rle.counts)}};
    }
    return j;
}

}  // namespace

void write_outputs(const fs::path& base, const PipelineResult& result, const cv::Mat& rgb,
                   const OutputContext& context) {
    const auto paths = output_paths(base);
    // Refuse up front when any output exists (nothing half-replaced).
    if (!context.overwrite)
        for (const auto& p : {paths.png, paths.json, paths.embeddings, paths.overlay})
            if (fs::exists(p))
                throw Error("output '" + p.string() + "' already exists; pass --overwrite to replace it (or --resume in batch)");

    const cv::Mat labels(result.work_height, result.work_width, CV_32S, const_cast<int32_t*>(result.label_map.data()));

    // 1. Label map at the original size.
    write_label_png(paths.png, labels, cv::Size(result.width, result.height), context.overwrite);

    // 2. Embeddings.
    std::vector<std::vector<float>> keep;
    std::vector<TensorView> views;
    // Every key NAME.json names is in the file (an empty embedding as shape [0]):
    // --resume checks that they are all there.
    auto add = [&](const std::string& name, const std::vector<float>& v) {
        keep.push_back(v);
        views.push_back({name, DType::F32, {static_cast<int64_t>(v.size())},
                         reinterpret_cast<const uint8_t*>(keep.back().data()), v.size() * sizeof(float)});
    };
    keep.reserve(result.nodes.size() * 2 + 2);
    for (const auto& node : result.nodes) {
        if (node.final) {
            add("segment/" + std::to_string(node.segment_id) + "/image", node.embedding);
            add("segment/" + std::to_string(node.segment_id) + "/text", node.caption.text_embedding);
        } else if (context.save_tree) {
            add("node/" + std::to_string(node.heap_id) + "/image", node.embedding);
            add("node/" + std::to_string(node.heap_id) + "/text", node.caption.text_embedding);
        }
    }
    write_file_atomic(paths.embeddings, serialize_safetensors(views, {{"schema_version", std::to_string(kOutputSchemaVersion)}}),
                      context.overwrite);

    // 3. Overlay.
    std::vector<OverlaySegment> segments;
    for (const auto& node : result.nodes)
        if (node.final) segments.push_back({node.segment_id, node.caption.label});
    write_overlay_jpeg(paths.overlay, render_overlay(rgb, labels, segments), context.overwrite);

    // 4. The JSON, last.
    nlohmann::json j;
    j["schema_version"] = kOutputSchemaVersion;
    j["zgseg_version"] = ZGSEG_VERSION;
    j["input"] = {{"path", context.input_path.string()}, {"width", result.width}, {"height", result.height},
                  {"sha256", context.input_sha256}, {"format", context.input_format}};
    if (context.input_stamp.size_bytes >= 0) {
        j["input"]["size_bytes"] = context.input_stamp.size_bytes;
        j["input"]["mtime_ns"] = context.input_stamp.mtime_ns;
    }
    j["models"] = context.models;
    j["parameters"] = context.parameters;
    j["device"] = result.device;
    j["captioner"] = result.captioner;
    j["timings_seconds"] = result.timings;
    j["work_size"] = {{"width", result.work_width}, {"height", result.work_height}};
    j["files"] = {{"label_map", paths.png.filename().string()},
                  {"embeddings", paths.embeddings.filename().string()},
                  {"overlay", paths.overlay.filename().string()}};
    nlohmann::json segs = nlohmann::json::array(), tree = nlohmann::json::array();
    std::vector<const Node*> finals;
    for (const auto& node : result.nodes)
        if (node.final) finals.push_back(&node);
    std::sort(finals.begin(), finals.end(), [](const Node* a, const Node* b) { return a->segment_id < b->segment_id; });
    for (const Node* node : finals) {
        auto s = node_json(*node, labels, result.width, result.height, true);
        s["id"] = node->segment_id;
        s["embedding_keys"] = {{"image", "segment/" + std::to_string(node->segment_id) + "/image"},
                               {"text", "segment/" + std::to_string(node->segment_id) + "/text"}};
        segs.push_back(s);
    }
    j["segments"] = segs;
    if (context.save_tree) {
        for (const auto& node : result.nodes) {
            auto t = node_json(node, labels, result.width, result.height, false);
            if (node.final) t["id"] = node.segment_id;
            const std::string prefix = node.final ? "segment/" + std::to_string(node.segment_id) : "node/" + std::to_string(node.heap_id);
            t["embedding_keys"] = {{"image", prefix + "/image"}, {"text", prefix + "/text"}};
            tree.push_back(t);
        }
        j["tree"] = tree;
    }
    write_file_atomic(paths.json, j.dump(1) + "\n", context.overwrite);
}

}  // namespace zgseg
