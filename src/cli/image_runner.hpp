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
#include <functional>
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
    // The end of the line a stop logs: what to run to finish.
    std::string after_stop = "rerun with --resume to finish";
};

// What a run did; every list holds input paths in input order.
struct RunSummary {
    size_t inputs = 0;
    int done = 0;                   // computed and written by this run
    int skipped_complete = 0;       // --resume: outputs already whole and made by these settings
    int redone_invalid = 0;         // --resume: outputs damaged or made from an older input: redone
    int redone_other_settings = 0;  // --resume: outputs made with other parameters or models: redone
    nlohmann::json done_inputs = nlohmann::json::array();
    nlohmann::json failures = nlohmann::json::array();  // {"input", "error"}
    bool interrupted = false;  // stopped by a signal before every image was done
    std::string signal;        // "SIGTERM", "SIGINT"
    nlohmann::json abandoned = nlohmann::json::array();  // in flight when the signal came: nothing of them kept
    nlohmann::json not_done = nlohmann::json::array();   // abandoned + never started
    double seconds = 0;
};

// What NAME.json and the summaries record of the models: the folder and each
// network's config.json SHA-256.
nlohmann::json models_record(const ModelDirectory& models);

// The exit code of a run stopped by SIGTERM / SIGINT (EX_TEMPFAIL: try again,
// with --resume). A second signal exits at once with 128 + the signal.
constexpr int kExitInterrupted = 75;

// Processes `items` in order; a bad image is logged and recorded, never fatal
// (a usage error still is). `progress` draws a progress line on a terminal.
// `record` receives the summary when the run ends, and also when a first
// SIGTERM / SIGINT stops it: then the images in flight are abandoned (their
// files removed), `record` runs with `interrupted` set, one line is logged,
// and the process exits with kExitInterrupted, all within about a second.
RunSummary run_images(const std::vector<WorkItem>& items, const ModelDirectory& models, const RunSettings& settings,
                      bool progress, const std::function<void(const RunSummary&)>& record);

}  // namespace zgseg::cli
