// Writes the files of one image (io/output_files.hpp lists them): one writer
// per output kind, each to a temporary name renamed into place; NAME.json
// goes last, so its presence means the image was finished; --resume checks
// more (io/output_check.hpp).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "io/output_check.hpp"
#include "io/output_files.hpp"
#include "io/rle.hpp"
#include "zgseg/result.hpp"

namespace zgseg {

constexpr int kOutputSchemaVersion = 1;

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

// Writes every output of one image, base = OUT/NAME (no extension); refuses
// before writing anything when one exists and context.overwrite is false.
// `rgb` is the decoded working copy (R,G,B).
void write_outputs(const std::filesystem::path& base, const PipelineResult& result, const cv::Mat& rgb,
                   const OutputContext& context);

}  // namespace zgseg
