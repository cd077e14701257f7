// `zgseg eval`: score predictions (zgseg's output files, or any system that
// writes the same format) with the paper's protocol (§4; reference-notes §7)
// on PASCAL VOC 2012 val or PASCAL-Context val. The metrics live in
// src/eval (no LibTorch), the reassignment networks in src/reassign.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "core/model_dir.hpp"
#include "eval/dataset.hpp"
#include "eval/prediction.hpp"
#include "eval/report.hpp"
#include "reassign/class_matcher.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::cli {

namespace {

constexpr const char* kClipFolder = "clip-vit-large-patch14-336";
constexpr const char* kSbertFolder = "all-mpnet-base-v2";

struct EvalOptions {
    CommonOptions common;
    std::string dataset, data_dir, pred_dir, output_dir, reassign = "both", sbert_dir, classes_file, cache_dir;
    std::string iou = "image";
    double tau_sbert = 0.5, tau_clip = 0.1;
    int limit = 0;
    bool sweep = false, overwrite = false, oracle = false;
};

fs::path eval_cache_dir(const std::string& given) {
    if (!given.empty()) return given;
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    if (xdg && *xdg) return fs::path(xdg) / "zgseg" / "eval";
    return fs::path(home && *home ? home : "/tmp") / ".cache" / "zgseg" / "eval";
}

int run_eval(EvalOptions& o) {
    apply_common_options(o.common);
    if (o.oracle)
        throw Error("--oracle (Text Generation Quality: captioning ground-truth segments) is not implemented in this "
                    "version yet; run without it for IoU and Segment Recall");
    const auto start = std::chrono::steady_clock::now();
    const eval::Dataset dataset = eval::make_dataset(o.dataset, o.classes_file);
    const fs::path data(o.data_dir), pred(o.pred_dir);
    std::error_code ec;
    if (!fs::is_directory(pred, ec)) throw Error("prediction folder '" + pred.string() + "' does not exist (give --pred the -o folder of zgseg batch)");
    const auto names = eval::list_images(data, o.limit);
    const fs::path output = o.output_dir.empty() ? pred : fs::path(o.output_dir);
    if (!o.overwrite)  // refuse before minutes of work
        for (const char* f : {"eval.json", "eval.csv"})
            if (fs::exists(output / f, ec))
                throw Error("'" + (output / f).string() + "' exists; pass --overwrite to replace it, or choose another --output");

    const bool tt = o.reassign != "st", st = o.reassign != "tt";
    std::vector<std::string> class_names;
    for (const auto& c : dataset.classes) class_names.push_back(c.name);
    const auto models = ModelDirectory::resolve(o.common.models);
    const fs::path cache = eval_cache_dir(o.cache_dir);
    std::unique_ptr<eval::TextMatcher> text;
    std::unique_ptr<eval::SegmentMatcher> segment;
    if (tt) {
        const fs::path sbert = o.sbert_dir.empty() ? models.folder(kSbertFolder) : fs::path(o.sbert_dir);
        text = std::make_unique<eval::TextMatcher>(sbert, class_names, cache, o.common.device);
    }
    if (st) {
        models.require({kClipFolder});
        segment = std::make_unique<eval::SegmentMatcher>(models.folder(kClipFolder), models.file(kClipFolder, "vocab.json"),
                                                         models.file(kClipFolder, "merges.txt"), class_names, cache,
                                                         o.common.device);
    }

    eval::EvalReport report;
    report.dataset = &dataset;
    report.images_listed = static_cast<int>(names.size());
    report.show_image_iou = o.iou != "dataset";
    report.show_dataset_iou = o.iou != "image";
    report.parameters = {{"dataset", o.dataset},
                         {"data", fs::absolute(data).string()},
                         {"pred", fs::absolute(pred).string()},
                         {"classes", o.classes_file.empty() ? eval::bundled_class_file(o.dataset).string() : o.classes_file},
                         {"reassign", o.reassign},
                         {"tau_sbert", o.tau_sbert},
                         {"tau_clip", o.tau_clip},
                         {"clip_prompt", eval::class_prompt("{class}")},
                         {"limit", o.limit},
                         {"merge", "union"},
                         {"recall_tau_iou", "0.00..1.00 step 0.01; headline at 0.50"}};
    if (tt) report.parameters["sbert"] = fs::absolute(o.sbert_dir.empty() ? models.folder(kSbertFolder) : fs::path(o.sbert_dir)).string();
    if (st) report.parameters["clip"] = fs::absolute(models.folder(kClipFolder)).string();

    // The main settings keep per-image rows; the sweeps only their summaries.
    std::vector<eval::Accumulator> sweeps;
    if (tt) report.main.emplace_back(dataset, eval::Setting{"tt", o.tau_sbert}, true);
    if (st) report.main.emplace_back(dataset, eval::Setting{"st", o.tau_clip}, true);
    if (o.sweep)
        for (const std::string r : {"tt", "st"})
            if ((r == "tt" && tt) || (r == "st" && st))
                for (double t : eval::sweep_thresholds(r)) sweeps.emplace_back(dataset, eval::Setting{r, t}, false);

    // Encode every distinct caption up front in large batches: one forward per
    // image would spend most of the time in per-call overhead.
    if (tt) {
        std::vector<std::string> all;
        for (const auto& name : names)
            if (const auto p = eval::read_prediction(pred, name, /*with_label_map=*/false))
                for (const auto& s : p->segments) all.push_back(s.label);
        const auto t0 = std::chrono::steady_clock::now();
        text->match(all);
        spdlog::info("encoded {} captions with Sentence-BERT in {:.1f} s", all.size(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }

    const bool tty = ::isatty(STDERR_FILENO);
    for (size_t i = 0; i < names.size(); ++i) {
        const std::string& name = names[i];
        const cv::Mat gt = eval::read_ground_truth(data / "SegmentationClass" / (name + ".png"), dataset);
        const auto prediction = eval::read_prediction(pred, name);
        if (!prediction) {
            report.missing.push_back(name);
            spdlog::debug("{}: no prediction", name);
            continue;
        }
        if (prediction->segments.empty()) report.empty.push_back(name);
        if (prediction->label_map.size() != gt.size())
            spdlog::warn("{}: label map is {}x{}, ground truth {}x{}; resized by nearest neighbour", name,
                         prediction->label_map.cols, prediction->label_map.rows, gt.cols, gt.rows);
        const eval::JointCounts counts(gt, prediction->label_map);
        std::vector<int> ids;
        std::vector<std::string> captions;
        for (const auto& s : prediction->segments) {
            ids.push_back(s.id);
            captions.push_back(s.label);
        }
        std::vector<eval::Match> tt_matches, st_matches;
        if (tt) tt_matches = text->match(captions);
        if (st) st_matches = segment->match(eval::read_image_embeddings(*prediction));
        const int n = static_cast<int>(ids.size());
        auto add = [&](eval::Accumulator& a) {
            const auto& m = a.setting().reassign == "tt" ? tt_matches : st_matches;
            a.add(name, counts, eval::apply_threshold(ids, m, a.setting().threshold), n);
        };
        for (auto& a : report.main) add(a);
        for (auto& a : sweeps) add(a);
        if (tty && !o.common.quiet) {
            std::fprintf(stderr, "\r[%zu/%zu] %s   ", i + 1, names.size(), name.c_str());
            std::fflush(stderr);
        }
    }
    if (tty && !o.common.quiet) std::fprintf(stderr, "\n");
    for (const auto& a : sweeps) report.sweep.push_back(a.summary());
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::cout << eval::format_tables(report) << std::flush;
    eval::write_reports(output, report, o.overwrite);
    spdlog::info("wrote {} and {} ({:.1f} s)", (output / "eval.json").string(), (output / "eval.csv").string(), report.seconds);
    if (!report.missing.empty())
        spdlog::warn("{} of {} images have no prediction in '{}' (listed in eval.json); they are not scored",
                     report.missing.size(), names.size(), pred.string());
    return 0;
}

}  // namespace

Action add_eval_command(CLI::App& app) {
    auto o = std::make_shared<EvalOptions>();
    auto* cmd = app.add_subcommand("eval", "Score predictions on PASCAL VOC / PASCAL-Context with the paper's protocol");
    cmd->add_option("--dataset", o->dataset, "voc20 (PAS-20), pc59 (PC-59) or pc459 (PC-459)")
        ->required()
        ->check(CLI::IsMember({"voc20", "pc59", "pc459"}));
    cmd->add_option("--data", o->data_dir, "Dataset folder with JPEGImages/ and SegmentationClass/ (scripts/prepare_eval_data.py)")
        ->required();
    cmd->add_option("--pred", o->pred_dir, "Folder of predictions NAME.json + NAME.png (+ NAME.embeddings.safetensors)")
        ->required();
    cmd->add_option("-o,--output", o->output_dir, "Where eval.json and eval.csv go (default: the --pred folder)");
    cmd->add_option("--reassign", o->reassign, "tt (Sentence-BERT), st (CLIP) or both")
        ->check(CLI::IsMember({"tt", "st", "both"}));
    cmd->add_option("--tau-sbert", o->tau_sbert, "Drop a TT reassignment below this cosine")->check(CLI::Range(-1.0, 1.0));
    cmd->add_option("--tau-clip", o->tau_clip, "Drop an ST reassignment below this cosine")->check(CLI::Range(-1.0, 1.0));
    cmd->add_option("--sbert", o->sbert_dir, "Sentence-BERT folder (default: MODELS/all-mpnet-base-v2)");
    cmd->add_option("--classes", o->classes_file, "Class list 'ID: NAME' a line (default: the bundled official list)");
    cmd->add_option("--limit", o->limit, "Score only the first N images in natural order (0: all)")->check(CLI::Range(0, 1 << 30));
    cmd->add_option("--iou", o->iou, "IoU shown: image (mean of per-image IoUs, the paper's), dataset (confusion counts) or both")
        ->check(CLI::IsMember({"image", "dataset", "both"}));
    cmd->add_flag("--sweep", o->sweep, "Also the threshold sweeps of the paper's Tables 6 and 7");
    cmd->add_flag("--oracle", o->oracle, "Text Generation Quality on ground-truth segments (not implemented yet)");
    cmd->add_option("--cache-dir", o->cache_dir, "Class-embedding cache (default ~/.cache/zgseg/eval)");
    cmd->add_flag("--overwrite", o->overwrite, "Replace an existing eval.json / eval.csv");
    add_common_options(cmd, o->common);
    return [o]() -> int { return run_eval(*o); };
}

}  // namespace zgseg::cli
