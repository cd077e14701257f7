// `zgseg segment IMAGE... -o OUT` and `zgseg batch (DIR | LIST.txt | -) -o OUT`.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/commands.hpp"
#include "cli/image_runner.hpp"
#include "cli/pipeline_options.hpp"
#include "core/model_dir.hpp"
#include "io/atomic_file.hpp"
#include "io/input_guard.hpp"
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

bool is_image_name(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    static const std::set<std::string> kExt = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"};
    return kExt.count(ext) > 0;
}

std::string strip_extension(const fs::path& p) { return (p.parent_path() / p.stem()).string(); }

// A label map NAME.png or overlay NAME.overlay.jpg that zgseg wrote: NAME.json
// and NAME.embeddings.safetensors lie beside it. A batch over a folder that
// also holds its outputs (-o inside the source) must not take them for photos.
bool is_zgseg_output(const fs::path& p) {
    const std::string file = p.filename().string();
    std::string base;
    const std::string overlay = ".overlay.jpg";
    if (file.size() > overlay.size() && file.compare(file.size() - overlay.size(), overlay.size(), overlay) == 0)
        base = file.substr(0, file.size() - overlay.size());
    else if (p.extension() == ".png")
        base = p.stem().string();
    else
        return false;
    std::error_code ec;
    const fs::path folder = p.parent_path();
    return fs::is_regular_file(folder / (base + ".json"), ec) &&
           fs::is_regular_file(folder / (base + ".embeddings.safetensors"), ec);
}

// The batch's inputs: a folder (recursive, image extensions), a list file
// (one path a line, relative to the list's folder), or "-" (paths on stdin).
std::vector<WorkItem> collect_batch_inputs(const std::string& source) {
    std::vector<WorkItem> items;
    auto from_lines = [&](std::istream& in, const fs::path& base) {
        std::string line;
        while (std::getline(in, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty() || line[0] == '#') continue;
            fs::path p(line);
            if (p.is_relative() && !base.empty()) p = base / p;
            items.push_back({p, p.stem().string()});
        }
    };
    std::error_code ec;
    size_t outputs_skipped = 0;
    if (source == "-") {
        from_lines(std::cin, {});
    } else if (fs::is_directory(source, ec)) {
        for (auto it = fs::recursive_directory_iterator(source, fs::directory_options::skip_permission_denied, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (ec) break;
            if (!it->is_regular_file(ec) || !is_image_name(it->path())) continue;
            if (is_zgseg_output(it->path())) {
                ++outputs_skipped;
                continue;
            }
            items.push_back({it->path(), strip_extension(fs::relative(it->path(), source))});
        }
        if (outputs_skipped > 0)
            spdlog::info("batch: skipped {} files in '{}' that are zgseg outputs (label maps, overlays)",
                         outputs_skipped, source);
    } else if (fs::is_regular_file(source, ec)) {
        std::ifstream in(source);
        if (!in) throw Error("cannot read the list file '" + source + "'");
        protect_input(source);
        from_lines(in, fs::path(source).parent_path());
    } else {
        throw Error("batch source '" + source + "' is neither a folder, a list file nor '-'");
    }
    // Deterministic order without duplicates: every shard sees the same list.
    std::sort(items.begin(), items.end(), [](const WorkItem& a, const WorkItem& b) { return a.input < b.input; });
    items.erase(std::unique(items.begin(), items.end(), [](const WorkItem& a, const WorkItem& b) { return a.input == b.input; }),
                items.end());
    return items;
}

// "I/N" → the items whose index in the sorted, de-duplicated list is I mod N.
std::vector<WorkItem> take_shard(const std::vector<WorkItem>& items, const std::string& shard) {
    if (shard.empty()) return items;
    const auto slash = shard.find('/');
    int index = -1, count = 0;
    try {
        if (slash == std::string::npos) throw std::invalid_argument("no slash");
        size_t used = 0;
        index = std::stoi(shard.substr(0, slash), &used);
        if (used != slash) throw std::invalid_argument("junk");
        count = std::stoi(shard.substr(slash + 1), &used);
        if (used != shard.size() - slash - 1) throw std::invalid_argument("junk");
    } catch (const std::exception&) {
        index = -1;
    }
    if (index < 0 || count < 1 || index >= count)
        throw UsageError("--shard '" + shard + "': expected I/N with 0 <= I < N (e.g. 0/4; Slurm: $SLURM_ARRAY_TASK_ID/N)");
    std::vector<WorkItem> mine;
    for (size_t i = 0; i < items.size(); ++i)
        if (static_cast<int>(i % count) == index) mine.push_back(items[i]);
    return mine;
}

nlohmann::json params_json(const PipelineParams& p, const std::string& preset) {
    const auto& c = p.candidates;
    const auto& e = p.embedding;
    const auto& z = p.zerocap;
    return {{"preset", preset},
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
            {"zerocap", {{"prompt", z.prompt}, {"beams", z.beam_size}, {"max_tokens", z.max_tokens},
                         {"iterations", z.iterations}, {"step", z.step_size}, {"clip_scale", z.clip_scale},
                         {"ce_scale", z.ce_scale}, {"fusion", z.fusion_factor}, {"candidates", z.clip_candidates},
                         {"temperature", z.clip_temperature}, {"grad_power", z.grad_norm_power},
                         {"end_factor", z.end_factor}, {"first_end_factor", z.first_step_end_factor},
                         {"forbidden_factor", z.forbidden_factor}}},
            {"vocab", {{"file", p.vocab.vocab_file}, {"top_k", p.vocab.top_k}}},
            {"merge", {{"enabled", p.merge.enabled}, {"threshold", p.merge.threshold},
                       {"image_weight", p.merge.image_weight}}}};
}

void prepare_out_dir(const fs::path& out) {
    std::error_code ec;
    if (fs::exists(out, ec) && !fs::is_directory(out, ec))
        throw Error("output folder '" + out.string() + "' is a file; give -o a folder");
    fs::create_directories(out, ec);
    if (ec) throw Error("cannot create output folder '" + out.string() + "': " + ec.message());
    if (::access(out.c_str(), W_OK) != 0) throw Error("output folder '" + out.string() + "' is not writable");
}

int run_items(const std::vector<WorkItem>& items, SegmentOptions& o, bool is_batch) {
    const fs::path out(o.out_dir);
    prepare_out_dir(out);
    const auto models = ModelDirectory::resolve(o.common.models);
    models.require({"dino-vits8", "clip-vit-large-patch14-336"});  // fail before touching any image

    RunSettings settings;
    settings.out_dir = out;
    settings.params = o.params;
    settings.parameters_json = params_json(o.params, o.preset);
    settings.cache_dir = o.cache_dir;
    settings.overwrite = o.overwrite;
    settings.resume = o.resume;
    settings.save_tree = o.save_tree;
    settings.overlap = o.overlap;
    const RunSummary s = run_images(items, models, settings, is_batch && ::isatty(STDERR_FILENO));

    if (is_batch) {
        nlohmann::json summary = {{"inputs", items.size()},         {"done", s.done},
                                  {"skipped_complete", s.skipped_complete}, {"failed", s.failures.size()},
                                  {"failures", s.failures},          {"shard", o.shard},
                                  {"seconds", s.seconds}};
        const std::string name = o.shard.empty() ? "summary.json"
                                                 : "summary-shard-" + o.shard.substr(0, o.shard.find('/')) + ".json";
        write_file_atomic(out / name, summary.dump(1) + "\n", /*overwrite=*/true);
        spdlog::info("batch: {} done, {} already complete, {} failed, {:.1f} s", s.done, s.skipped_complete,
                     s.failures.size(), s.seconds);
        for (const auto& f : s.failures) spdlog::warn("failed: {}", f["input"].get<std::string>());
    }
    return s.failures.empty() ? 0 : 1;
}

int run_segment(CLI::App* cmd, SegmentOptions& o, bool is_batch) {
    apply_common_options(o.common);
    apply_preset(cmd, o.params, o.preset);
    o.params.device = o.common.device;
    std::vector<WorkItem> items;
    if (is_batch) {
        take_shard({}, o.shard);  // a bad --shard is a usage error before any input is read
        items = take_shard(collect_batch_inputs(o.inputs.at(0)), o.shard);
        if (o.list_only) {  // what this shard would process, one path a line
            for (const auto& item : items) std::cout << item.input.string() << "\n";
            return 0;
        }
        spdlog::info("batch: {} images{}", items.size(), o.shard.empty() ? "" : " in shard " + o.shard);
    } else {
        for (const auto& in : o.inputs) items.push_back({in, fs::path(in).stem().string()});
    }
    return run_items(items, o, is_batch);
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
    cmd->add_option("--shard", o->shard, "I/N: process the I-th of N deterministic shards (0-based I)");
    cmd->add_flag("--list", o->list_only, "Print the inputs this run (and shard) would process, then exit");
    add_pipeline_options(cmd, o->params, o->preset);
    add_common_options(cmd, o->common);
    return [cmd, o] { return run_segment(cmd, *o, true); };
}

}  // namespace zgseg::cli
