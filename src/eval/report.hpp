// What `zgseg eval` prints and writes: a console table laid out like the
// paper's tables, and eval.json / eval.csv with every number (fractions in
// 0..1; the console shows percentages like the paper).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/dataset.hpp"
#include "eval/summary.hpp"

namespace zgseg::eval {

// Text Generation Quality (§4.3): each ground-truth segment captioned by the
// pipeline; a hit when SBERT(caption, class name) ≥ τ_SBERT.
struct TgqImage {
    std::string name;
    std::vector<std::string> classes, captions;
    std::vector<double> similarities;
    double score = kNaN;  // hits / segments
};
struct TgqResult {
    double threshold = 0.5;
    double score = kNaN;  // mean over images of the per-image score
    int scored_images = 0;  // images with at least one ground-truth segment
    std::vector<TgqImage> images;
};

struct EvalReport {
    const Dataset* dataset = nullptr;
    nlohmann::json parameters;          // every flag that affects a number
    int images_listed = 0;
    std::vector<std::string> missing;   // no NAME.json in the prediction folder
    std::vector<std::string> empty;     // a prediction with no segment (scored: every GT class missed)
    std::vector<Accumulator> main;      // the requested reassignments at their thresholds
    std::vector<Summary> sweep;         // --sweep: Tables 6 (tt) and 7 (st)
    std::optional<TgqResult> tgq;       // --oracle
    bool show_dataset_iou = false;      // --iou dataset|both
    bool show_image_iou = true;         // --iou image|both
    double seconds = 0;
};

// The console tables.
std::string format_tables(const EvalReport& report);

nlohmann::json report_json(const EvalReport& report);

// Long format, one number a row: section,reassign,threshold,image,class,metric,value.
std::string report_csv(const EvalReport& report);

// Writes DIR/eval.json and DIR/eval.csv atomically; refuses to replace them
// unless `overwrite`.
void write_reports(const std::filesystem::path& dir, const EvalReport& report, bool overwrite);

// The thresholds of the paper's sweeps: Table 6 (τ_SBERT 0.0..1.0 step 0.1)
// and Table 7 (τ_CLIP 0.00..0.35 step 0.05).
std::vector<double> sweep_thresholds(const std::string& reassign);

}  // namespace zgseg::eval
