// The four files zgseg writes per image (README "Outputs"):
//   NAME.png                      label map at the original size, value = segment id
//   NAME.json                     schema-versioned description (schema/zgseg-output.schema.json)
//   NAME.embeddings.safetensors   CLIP image + caption text embedding per segment
//   NAME.overlay.jpg              the photo with segment colours, outlines and labels
// Each is written to a temporary name and renamed into place; the JSON goes
// last, so its presence means the image was finished; --resume checks more
// (io/output_check.hpp).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "io/output_check.hpp"
#include "io/rle.hpp"
#include "zgseg/result.hpp"

namespace zgseg {

constexpr int kOutputSchemaVersion = 1;

struct OutputPaths {
    std::filesystem::path png, json, embeddings, overlay;
};
// base = OUT/NAME (no extension).
OutputPaths output_paths(const std::filesystem::path& base);

struct OutputContext {
    std::filesystem::path input_path;
    std::string input_sha256;
    InputStamp input_stamp;  // size and mtime, so --resume can tell the input is unchanged without hashing it
    std::string input_format;
    nlohmann::json models;      // folder and per-network config hashes
    nlohmann::json parameters;  // every parameter of the run
    bool save_tree = false;
    bool overwrite = false;
};

// COCO RLE of the pixels equal to `id` in `labels` (h×w CV_32S) upsampled by
// nearest neighbour to width×height (row floor(y·h/H), column floor(x·w/W)),
// computed run by run without materialising the full-size map.
CocoRle rle_of_upsampled_label(const cv::Mat& labels, int id, int width, int height);

// Writes all four files. `rgb` is the decoded working copy (R,G,B).
void write_outputs(const std::filesystem::path& base, const PipelineResult& result, const cv::Mat& rgb,
                   const OutputContext& context);

}  // namespace zgseg
