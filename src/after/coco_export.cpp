#include "after/coco_export.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "io/rle.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::after {

namespace {

// The mask of a segment as a validated RLE: its counts must decode and cover
// exactly the image (a bad string would make pycocotools crash later).
CocoRle checked_rle(const nlohmann::json& mask, int width, int height, const BatchImage& image, int id) {
    const auto fail = [&](const std::string& why) {
        return Error("'" + image.json.string() + "' segment " + std::to_string(id) + ": " + why +
                     "; redo the image with zgseg batch --resume");
    };
    if (!mask.contains("size") || !mask["size"].is_array() || mask["size"].size() != 2 || !mask.contains("counts") ||
        !mask["counts"].is_string())
        throw fail("mask is not a COCO RLE ({\"size\": [h, w], \"counts\": \"...\"})");
    CocoRle rle;
    rle.height = mask["size"][0].get<int>();
    rle.width = mask["size"][1].get<int>();
    if (rle.height != height || rle.width != width)
        throw fail("mask size " + std::to_string(rle.height) + "x" + std::to_string(rle.width) +
                   " differs from the image's " + std::to_string(height) + "x" + std::to_string(width));
    try {
        rle.counts = rle_counts_from_string(mask["counts"].get<std::string>());
    } catch (const Error& e) {
        throw fail(std::string("mask counts unreadable (") + e.what() + ")");
    }
    uint64_t total = 0;
    for (auto c : rle.counts) total += c;
    if (total != static_cast<uint64_t>(width) * static_cast<uint64_t>(height))
        throw fail("mask counts cover " + std::to_string(total) + " pixels, not " + std::to_string(width * int64_t{height}));
    return rle;
}

}  // namespace

nlohmann::json coco_from_batch(const BatchFolder& batch, CocoExportStats* stats) {
    struct Ann {
        int image_id;
        std::string label;
        nlohmann::json json;
    };
    nlohmann::json images = nlohmann::json::array();
    std::vector<Ann> anns;
    std::map<std::string, std::pair<size_t, std::set<int>>> frequency;  // label → (instances, images)
    int image_id = 0;
    for (const auto& image : batch.images) {
        const auto doc = read_image_json(image);
        const auto& input = doc.value("input", nlohmann::json::object());
        const int width = input.value("width", 0), height = input.value("height", 0);
        if (width <= 0 || height <= 0)
            throw Error("'" + image.json.string() + "' has no input width/height; redo the image with zgseg batch --resume");
        ++image_id;
        // file_name as in a COCO layout whose root is the batch's source folder.
        const std::string source = input.value("path", std::string());
        images.push_back({{"id", image_id}, {"file_name", image.name + fs::path(source).extension().string()},
                          {"width", width}, {"height", height}, {"zgseg_name", image.name}, {"path", source}});
        for (const auto& s : doc["segments"]) {
            const int id = s["id"].get<int>();
            const CocoRle rle = checked_rle(s["mask"], width, height, image, id);
            const auto box = rle_bbox(rle);
            const std::string label = s["label"].get<std::string>();
            auto& f = frequency[label];
            ++f.first;
            f.second.insert(image_id);
            anns.push_back({image_id, label,
                            {{"image_id", image_id},
                             {"segmentation", {{"size", {height, width}}, {"counts", s["mask"]["counts"]}}},
                             {"area", rle_area(rle)},
                             {"bbox", {box[0], box[1], box[2], box[3]}},
                             {"iscrowd", 0},
                             {"score", s.value("clip_score", 0.0)},
                             {"zgseg_segment_id", id},
                             {"heap_id", s.value("heap_id", -1)}}});
        }
    }
    // Categories: most frequent first, then by name; ids from 1.
    std::vector<std::string> labels;
    for (const auto& [label, f] : frequency) labels.push_back(label);
    std::stable_sort(labels.begin(), labels.end(), [&](const std::string& a, const std::string& b) {
        return frequency[a].first > frequency[b].first;
    });
    std::map<std::string, int> category_of;
    nlohmann::json categories = nlohmann::json::array();
    for (const auto& label : labels) {
        const int id = static_cast<int>(category_of.size()) + 1;
        category_of[label] = id;
        categories.push_back({{"id", id}, {"name", label}, {"supercategory", "zgseg"},
                              {"instance_count", frequency[label].first}, {"image_count", frequency[label].second.size()}});
    }
    nlohmann::json annotations = nlohmann::json::array();
    for (size_t i = 0; i < anns.size(); ++i) {
        auto a = std::move(anns[i].json);
        a["id"] = static_cast<int64_t>(i) + 1;
        a["category_id"] = category_of.at(anns[i].label);
        annotations.push_back(std::move(a));
    }
    if (stats) *stats = {images.size(), annotations.size(), categories.size()};
    return {{"info", {{"description", "zgseg batch " + batch.root.string()}, {"version", ZGSEG_VERSION}}},
            {"licenses", nlohmann::json::array()},
            {"images", std::move(images)},
            {"categories", std::move(categories)},
            {"annotations", std::move(annotations)}};
}

}  // namespace zgseg::after
