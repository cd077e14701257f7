// Runs `segment` / `batch` over a list of images: checks, decoding, the
// Pipeline and the outputs, with one line per bad image and a summary.
//
// With overlap on, three images are in flight: image i+1 is decoded and goes
// through stage 1 (DINO keys, Ward, pruning, CRF: mostly CPU) on one thread
// while image i goes through stages 2–4 (CLIP, captioning: the GPU's work) on
// the main thread, and image i−1's outputs are encoded and written on a third.
// Every image still gets exactly the computation it gets alone; only the
// interleaving changes.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zgseg/params.hpp"

namespace zgseg {
class ModelDirectory;
}

namespace zgseg::cli {

struct WorkItem {
    std::filesystem::path input;
    std::string name;  // output base name relative to OUT (no extension)
};

struct RunSettings {
    std::filesystem::path out_dir;
    PipelineParams params;
    nlohmann::json parameters_json;  // what NAME.json records under "parameters"
    std::string cache_dir;
    bool overwrite = false, resume = false, save_tree = false;
    // "on", "off", or "auto": on where the networks run on a GPU (on a CPU
    // both halves compete for the same cores). Results are the same either way.
    std::string overlap = "auto";
};

struct RunSummary {
    int done = 0, skipped_complete = 0;
    nlohmann::json failures = nlohmann::json::array();  // {"input", "error"} in input order
    double seconds = 0;
};

// Processes `items` in order; a bad image is logged and recorded, never fatal
// (a usage error still is). `progress` draws a progress line on a terminal.
RunSummary run_images(const std::vector<WorkItem>& items, const ModelDirectory& models, const RunSettings& settings,
                      bool progress);

}  // namespace zgseg::cli
