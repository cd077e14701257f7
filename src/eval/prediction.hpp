// Reading one image's predictions in zgseg's output format (README
// "Outputs"): OUT/NAME.json (segments with id, label and embedding keys),
// OUT/NAME.png (label map, value = segment id, 0 = none) and, for the
// segment-to-text reassignment, OUT/NAME.embeddings.safetensors. Any system
// that writes these files can be scored.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace zgseg::eval {

struct PredictedSegment {
    int id = 0;             // value in the label map
    std::string label;      // the caption (text-to-text reassignment compares it)
    std::string image_key;  // its CLIP image embedding in the safetensors file
};

struct Prediction {
    std::filesystem::path json_path;
    std::vector<PredictedSegment> segments;
    cv::Mat label_map;  // CV_32S segment ids
    std::filesystem::path embeddings_path;
};

// std::nullopt when OUT/NAME.json does not exist (a missing prediction).
// Throws zgseg::Error naming the file for malformed JSON, segments without an
// integer id ≥ 1 or a string label, duplicate ids, or a missing or unreadable
// label map. Without `with_label_map` only the JSON is read (label_map stays empty).
std::optional<Prediction> read_prediction(const std::filesystem::path& out_dir, const std::string& name,
                                          bool with_label_map = true);

// The segments' CLIP image embeddings, in segment order. Throws zgseg::Error
// naming the file when it or a key is missing, or vectors differ in length.
std::vector<std::vector<float>> read_image_embeddings(const Prediction& prediction);

}  // namespace zgseg::eval
