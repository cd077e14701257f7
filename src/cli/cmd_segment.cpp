// `zgseg segment IMAGE... -o OUT` and `zgseg batch (DIR | LIST.txt | -) -o OUT`.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cli/batch_inputs.hpp"
#include "cli/commands.hpp"
#include "cli/image_runner.hpp"
#include "cli/pipeline_options.hpp"
#include "core/model_dir.hpp"
#include "io/atomic_file.hpp"
#include "io/input_guard.hpp"
#include "stages/captioning/captioners.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::cli {

namespace {

struct SegmentOptions {
    CommonOptions common;
    PipelineParams params;
    std::string preset = "paper";
    std::vector<std::string> inputs;
    std::string out_dir;
    std::string cache_dir;
    bool overwrite = false;
    bool resume = false;
    bool save_tree = false;
    bool list_only = false;
    std::string shard;
    std::string overlap = "auto";
};

// One shard of a batch: index I of N (0-based), as given or read from Slurm.
struct Shard {
    int index = 0, count = 1;
    bool all() const { return count == 1; }
    std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

long env_number(const char* name, long fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end != '\0') throw UsageError(std::string("--shard slurm: $") + name + "='" + v + "' is not a number");
    return n;
}

// A Slurm job array's task as shard I/N. Slurm numbers tasks as the user wrote
// --array: 0-3, 1-4, 0-7%2 (throttled), 10-40:10, or a single task; shard I is
// the task's position in that evenly spaced range. A list that is not evenly
// spaced (1,2,5) cannot be numbered without knowing it whole, so it is refused.
Shard slurm_shard() {
    const long id = env_number("SLURM_ARRAY_TASK_ID", -1);
    if (id < 0)
        throw UsageError("--shard slurm: not a Slurm array task ($SLURM_ARRAY_TASK_ID is unset); "
                         "submit with sbatch --array=0-N, or give --shard I/N");
    const long min = env_number("SLURM_ARRAY_TASK_MIN", id), max = env_number("SLURM_ARRAY_TASK_MAX", id);
    const long count = env_number("SLURM_ARRAY_TASK_COUNT", 1), step = env_number("SLURM_ARRAY_TASK_STEP", 1);
    const bool evenly_spaced = step >= 1 && count >= 1 && min <= id && id <= max && (max - min) % step == 0 &&
                               (max - min) / step + 1 == count && (id - min) % step == 0;
    if (!evenly_spaced)
        throw UsageError("--shard slurm: the array's " + std::to_string(count) + " task ids (" + std::to_string(min) +
                         " to " + std::to_string(max) +
                         ") are not an evenly spaced range, so this task's shard cannot be told; submit with "
                         "--array=0-" + std::to_string(count - 1) + " (add %K to run at most K at once)");
    Shard shard;
    shard.index = static_cast<int>((id - min) / step);
    shard.count = static_cast<int>(count);
    return shard;
}

// "I/N" (0 <= I < N) or "slurm"; "" = the whole list.
Shard parse_shard(const std::string& text) {
    if (text.empty()) return {};
    if (text == "slurm") return slurm_shard();
    const auto slash = text.find('/');
    long index = -1, count = 0;
    try {
        if (slash == std::string::npos) throw std::invalid_argument("no slash");
        size_t used = 0;
        index = std::stol(text.substr(0, slash), &used);
        if (used != slash) throw std::invalid_argument("junk");
        count = std::stol(text.substr(slash + 1), &used);
        if (used != text.size() - slash - 1) throw std::invalid_argument("junk");
    } catch (const std::exception&) {
        index = -1;
    }
    if (index < 0 || count < 1 || index >= count || count > 1000000) {
        std::string hint = "expected I/N with 0 <= I < N (e.g. 0/4)";
        if (index == count && count > 0)
            hint += "; shard numbers start at 0: for a 1-based Slurm array (--array=1-N) use --shard slurm";
        else
            hint += "; in a Slurm job array use --shard slurm";
        throw UsageError("--shard '" + text + "': " + hint);
    }
    return {static_cast<int>(index), static_cast<int>(count)};
}

// The items whose index in the sorted, de-duplicated list is I mod N.
std::vector<WorkItem> take_shard(const std::vector<WorkItem>& items, const Shard& shard) {
    std::vector<WorkItem> mine;
    for (size_t i = 0; i < items.size(); ++i)
        if (static_cast<int>(i % shard.count) == shard.index) mine.push_back(items[i]);
    return mine;
}

nlohmann::json params_json(const PipelineParams& p, const std::string& preset) {
    const auto& c = p.candidates;
    const auto& e = p.embedding;
    nlohmann::json j = {
        {"preset", preset},
        {"captioner", p.captioner},
        {"device", p.device},
        {"precision", p.precision},
        {"seed", p.seed},
        {"candidates", {{"dino_size", c.dino_size}, {"dino_stride", c.dino_stride}, {"max_splits", c.max_splits},
                        {"prune_threshold", c.prune_threshold}, {"crf", c.crf}, {"crf_iterations", c.crf_iterations},
                        {"crf_gaussian", {c.crf_gaussian_sxy, c.crf_gaussian_compat}},
                        {"crf_bilateral", {c.crf_bilateral_sxy, c.crf_bilateral_srgb, c.crf_bilateral_compat}}}},
        {"embedding", {{"masked_blocks", e.masked_blocks}, {"global_subtraction", e.global_subtraction},
                       {"sigma2", e.sigma2}, {"saliency", e.saliency == Saliency::Outputs ? "outputs" : "probs"},
                       {"crop_and_mask", e.crop_and_mask}}},
        {"merge", {{"enabled", p.merge.enabled}, {"threshold", p.merge.threshold}, {"image_weight", p.merge.image_weight}}}};
    // Every captioner's settings, whichever runs: "zerocap", "vocab".
    for (const auto& captioner : captioners()) j[captioner.name] = captioner.parameters(p);
    return j;
}

void prepare_out_dir(const fs::path& out) {
    std::error_code ec;
    if (fs::exists(out, ec) && !fs::is_directory(out, ec))
        throw Error("output folder '" + out.string() + "' is a file; give -o a folder");
    fs::create_directories(out, ec);
    if (ec) throw Error("cannot create output folder '" + out.string() + "': " + ec.message());
    if (::access(out.c_str(), W_OK) != 0) throw Error("output folder '" + out.string() + "' is not writable");
}

nlohmann::json summary_json(const RunSummary& s, const std::string& shard, const RunSettings& settings,
                            const nlohmann::json& models) {
    return {{"inputs", s.inputs},
            {"shard", shard},
            {"done", s.done},
            {"skipped_complete", s.skipped_complete},
            {"redone_invalid", s.redone_invalid},
            {"redone_other_settings", s.redone_other_settings},
            {"failed", s.failures.size()},
            {"failures", s.failures},
            {"interrupted", s.interrupted},
            {"signal", s.signal.empty() ? nlohmann::json() : nlohmann::json(s.signal)},
            {"abandoned", s.abandoned},
            {"not_done", s.not_done},
            {"done_inputs", s.done_inputs},
            {"seconds", s.seconds},
            {"parameters", settings.parameters_json},
            {"models", models}};
}

int run_items(const std::vector<WorkItem>& items, SegmentOptions& o, const std::optional<Shard>& shard) {
    const bool is_batch = shard.has_value();
    const fs::path out(o.out_dir);
    prepare_out_dir(out);
    const auto models = ModelDirectory::resolve(o.common.models);
    models.require({kDinoFolder, kClipFolder});  // fail before touching any image

    RunSettings settings;
    settings.out_dir = out;
    settings.params = o.params;
    settings.parameters_json = params_json(o.params, o.preset);
    settings.cache_dir = o.cache_dir;
    settings.overwrite = o.overwrite;
    settings.resume = o.resume;
    settings.save_tree = o.save_tree;
    settings.overlap = o.overlap;
    if (!is_batch) settings.after_stop = "run segment again on the images not done to finish";

    // The batch's summary: summary.json, or summary-shard-I.json for shard I/N.
    const std::string shard_text = is_batch && !shard->all() ? shard->text() : "";
    const fs::path summary_path =
        out / (shard_text.empty() ? "summary.json" : "summary-shard-" + std::to_string(shard->index) + ".json");
    const nlohmann::json models_json = models_record(models);
    std::function<void(const RunSummary&)> record;
    if (is_batch)
        record = [&](const RunSummary& s) {
            write_file_atomic(summary_path, summary_json(s, shard_text, settings, models_json).dump(1) + "\n",
                              /*overwrite=*/true);
        };
    const RunSummary s = run_images(items, models, settings, is_batch && ::isatty(STDERR_FILENO), record);

    if (is_batch) {
        std::string redone;
        if (s.redone_invalid + s.redone_other_settings > 0)
            redone = fmt::format(" ({} redone: {} damaged or from an older input, {} made with other settings)",
                                 s.redone_invalid + s.redone_other_settings, s.redone_invalid,
                                 s.redone_other_settings);
        spdlog::info("batch: {} done{}, {} already complete, {} failed, {:.1f} s", s.done, redone,
                     s.skipped_complete, s.failures.size(), s.seconds);
        for (const auto& f : s.failures) spdlog::warn("failed: {}", f["input"].get<std::string>());
    }
    return s.failures.empty() ? 0 : 1;
}

int run_segment(CLI::App* cmd, SegmentOptions& o, bool is_batch) {
    apply_common_options(o.common);
    apply_preset(cmd, o.params, o.preset);
    o.params.device = o.common.device;
    std::vector<WorkItem> items;
    std::optional<Shard> shard;
    if (is_batch) {
        shard = parse_shard(o.shard);  // a bad --shard is a usage error before any input is read
        items = take_shard(collect_batch_inputs(o.inputs.at(0)), *shard);
        if (o.list_only) {  // what this shard would process, one path a line
            for (const auto& item : items) std::cout << item.input.string() << "\n";
            return 0;
        }
        spdlog::info("batch: {} images{}", items.size(), shard->all() ? "" : " in shard " + shard->text());
    } else {
        for (const auto& in : o.inputs) items.push_back({in, fs::path(in).stem().string()});
    }
    return run_items(items, o, shard);
}

void add_output_options(CLI::App* cmd, SegmentOptions& o) {
    cmd->add_option("-o,--out", o.out_dir, "Output folder (created if missing)")->required();
    cmd->add_flag("--overwrite", o.overwrite, "Replace existing outputs");
    cmd->add_flag("--save-tree", o.save_tree, "Write every node of the merge tree, not only the final segments");
    cmd->add_option("--cache-dir", o.cache_dir, "Vocabulary-embedding cache (default ~/.cache/zgseg/vocab)");
    cmd->add_option("--overlap", o.overlap,
                    "Run stage 1 of the next image while this one finishes: auto (on a GPU), on, off; "
                    "results are the same")
        ->check(CLI::IsMember({"auto", "on", "off"}))
        ->capture_default_str();
}

}  // namespace

Action add_segment_command(CLI::App& app) {
    auto o = std::make_shared<SegmentOptions>();
    auto* cmd = app.add_subcommand("segment", "Segment images and caption every segment (the default subcommand)");
    cmd->add_option("images", o->inputs, "Image files (JPEG, PNG, WebP, BMP, TIFF)")->required();
    add_output_options(cmd, *o);
    add_pipeline_options(cmd, o->params, o->preset);
    add_common_options(cmd, o->common);
    return [cmd, o] { return run_segment(cmd, *o, false); };
}

Action add_batch_command(CLI::App& app) {
    auto o = std::make_shared<SegmentOptions>();
    auto* cmd = app.add_subcommand("batch", "Segment a folder (recursive), a list file, or paths on stdin (-)");
    cmd->add_option("source", o->inputs, "DIR, LIST.txt (one path a line) or - for stdin")->required()->expected(1);
    add_output_options(cmd, *o);
    cmd->add_flag("--resume", o->resume, "Skip images whose outputs are complete and valid; redo incomplete ones");
    cmd->add_option("--shard", o->shard,
                    "I/N: process the I-th of N deterministic shards (0-based I); 'slurm': this Slurm array "
                    "task's shard (any evenly spaced --array, 0- or 1-based)");
    cmd->add_flag("--list", o->list_only, "Print the inputs this run (and shard) would process, then exit");
    add_pipeline_options(cmd, o->params, o->preset);
    add_common_options(cmd, o->common);
    return [cmd, o] { return run_segment(cmd, *o, true); };
}

}  // namespace zgseg::cli
