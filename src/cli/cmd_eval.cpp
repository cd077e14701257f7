// `zgseg eval`: score predictions (zgseg's output files, or any system that
// writes the same format) with the paper's protocol (§4; reference-notes §7)
// on PASCAL VOC 2012 val or PASCAL-Context val. The metrics live in
// src/eval (no LibTorch), the reassignment networks in src/reassign.
// --oracle captions each ground-truth segment with the Pipeline's stages 2
// and 3 (Text Generation Quality, §4.3).
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/pipeline_options.hpp"
#include "core/cache_dir.hpp"
#include "core/model_dir.hpp"
#include "core/timing.hpp"
#include "eval/dataset.hpp"
#include "eval/prediction.hpp"
#include "eval/report.hpp"
#include "io/image_loader.hpp"
#include "io/input_guard.hpp"
#include "io/outputs.hpp"
#include "reassign/class_matcher.hpp"
#include "zgseg/error.hpp"
#include "zgseg/pipeline.hpp"

namespace fs = std::filesystem;

namespace zgseg::cli {

namespace {

struct EvalOptions {
    CommonOptions common;
    std::string dataset, data_dir, pred_dir, output_dir, reassign = "both", sbert_dir, classes_file, cache_dir;
    std::string iou = "image";
    double tau_sbert = 0.5, tau_clip = 0.1;
    int limit = 0;
    bool sweep = false, overwrite = false, oracle = false;
    PipelineParams params;  // --oracle: stages 2 and 3
    std::string preset;
};

fs::path eval_cache_dir(const std::string& given) {
    if (!given.empty()) return given;
    return cache_root() / "eval";
}

void show_progress(const EvalOptions& o, size_t done, size_t total, const std::string& name) {
    if (o.common.quiet || !::isatty(STDERR_FILENO)) return;
    std::fprintf(stderr, "\r[%zu/%zu] %s   ", done, total, name.c_str());
    std::fflush(stderr);
}

// Reads every input file of the run once before any network is loaded, so
// that a bad file fails the run in seconds, not after minutes of caption
// encoding, and every bad file is named (each on its own log line), not only
// the first. Scoring reads them again: holding every map costs more memory.
void check_inputs(const EvalOptions& o, const eval::Dataset& dataset, const std::vector<std::string>& names, bool st) {
    const fs::path data(o.data_dir), pred(o.pred_dir);
    std::vector<std::string> bad;
    auto check = [&](auto&& read) {
        try {
            read();
        } catch (const Error& e) {
            bad.emplace_back(e.what());
            spdlog::error("{}", e.what());
        }
    };
    for (const std::string& name : names) {
        check([&] { eval::read_ground_truth(data / "SegmentationClass" / (name + ".png"), dataset); });
        if (!o.pred_dir.empty())
            check([&] {
                const auto p = eval::read_prediction(pred, name);
                if (p && st) eval::read_image_embeddings(*p);
            });
        if (o.oracle) check([&] { read_image_header(data / "JPEGImages" / (name + ".jpg")); });
    }
    if (!bad.empty())
        throw Error(std::to_string(bad.size()) + " input file" + (bad.size() == 1 ? " is" : "s are") +
                    " unreadable (each logged above), first: " + bad.front() +
                    "; fix or remove them (or narrow the run with --limit), then run eval again");
}

// Text Generation Quality: each ground-truth segment captioned by stages 2 and
// 3; a hit when SBERT(caption, class name) >= tau_SBERT. Per-image hit rate,
// then the mean over the images that have a segment.
eval::TgqResult text_generation_quality(const EvalOptions& o, const eval::Dataset& dataset,
                                        const std::vector<std::string>& names, Pipeline& pipeline,
                                        eval::TextMatcher& text) {
    const fs::path data(o.data_dir);
    eval::TgqResult result;
    result.threshold = o.tau_sbert;
    double sum = 0;
    for (size_t i = 0; i < names.size(); ++i) {
        const std::string& name = names[i];
        const fs::path gt_path = data / "SegmentationClass" / (name + ".png");
        const fs::path image_path = data / "JPEGImages" / (name + ".jpg");
        const cv::Mat gt = eval::read_ground_truth(gt_path, dataset);
        const LoadedImage image = load_image(image_path);
        if (image.original_size != gt.size())
            throw Error("ground truth '" + gt_path.string() + "' is " + std::to_string(gt.cols) + "x" +
                        std::to_string(gt.rows) + " but image '" + image_path.string() + "' is " +
                        std::to_string(image.original_size.width) + "x" + std::to_string(image.original_size.height) +
                        "; the data folder must pair each photo with its own label map");
        const auto segments = eval::ground_truth_segments(gt, dataset);
        eval::TgqImage row;
        row.name = name;
        if (!segments.empty()) {
            // Masks at the working copy's size (smaller when load_image downscaled a huge photo).
            std::vector<std::vector<uint8_t>> masks;
            for (const auto& s : segments) {
                cv::Mat mask = s.mask;
                if (mask.size() != image.rgb.size()) cv::resize(s.mask, mask, image.rgb.size(), 0, 0, cv::INTER_NEAREST);
                masks.emplace_back(mask.datastart, mask.dataend);  // continuous CV_8U
            }
            const auto captions = pipeline.caption_masks(image.rgb.data, image.rgb.cols, image.rgb.rows, masks);
            for (size_t k = 0; k < segments.size(); ++k) {
                row.classes.push_back(dataset.classes[static_cast<size_t>(segments[k].class_index)].name);
                row.captions.push_back(captions[k].caption.label);
            }
            row.similarities = text.similarity(row.captions, row.classes);
            int hits = 0;
            for (double sim : row.similarities) hits += sim >= o.tau_sbert ? 1 : 0;
            row.score = static_cast<double>(hits) / static_cast<double>(segments.size());
            sum += row.score;
            ++result.scored_images;
        } else {
            spdlog::debug("{}: no ground-truth class, not scored for Text Generation Quality", name);
        }
        result.images.push_back(std::move(row));
        show_progress(o, i + 1, names.size(), name);
    }
    if (!o.common.quiet && ::isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
    if (result.scored_images > 0) result.score = sum / result.scored_images;
    return result;
}

int run_eval(CLI::App* cmd, EvalOptions& o) {
    apply_common_options(o.common);
    apply_preset(cmd, o.params, o.preset);
    o.params.device = o.common.device;
    const bool score_predictions = !o.pred_dir.empty();
    if (!score_predictions && !o.oracle) throw UsageError("--pred is required: the -o folder of zgseg batch (or --oracle alone for Text Generation Quality)");
    if (!score_predictions && o.output_dir.empty())
        throw UsageError("--oracle without --pred needs -o/--output, the folder for eval.json and eval.csv");
    const auto start = SteadyClock::now();
    const eval::Dataset dataset = eval::make_dataset(o.dataset, o.classes_file);
    const fs::path data(o.data_dir), pred(o.pred_dir);
    std::error_code ec;
    if (score_predictions && !fs::is_directory(pred, ec))
        throw Error("prediction folder '" + pred.string() + "' does not exist (give --pred the -o folder of zgseg batch)");
    const auto names = eval::list_images(data, o.limit);
    const fs::path output = o.output_dir.empty() ? pred : fs::path(o.output_dir);
    // What eval reads may never be replaced by eval.json / eval.csv (an image
    // named "eval" has the prediction eval.json), whatever --overwrite says.
    for (const auto& name : names) {
        protect_input(data / "SegmentationClass" / (name + ".png"));
        if (score_predictions)
            for (const auto& p : {output_paths(pred / name).json(), output_paths(pred / name).of(OutputKind::LabelMap)})
                protect_input(p);
    }
    for (const char* f : {"eval.json", "eval.csv"}) refuse_output_over_input(output / f);
    if (!o.overwrite)  // refuse before minutes of work
        for (const char* f : {"eval.json", "eval.csv"})
            if (fs::exists(output / f, ec))
                throw Error("'" + (output / f).string() + "' exists; pass --overwrite to replace it, or choose another --output");

    const bool tt = score_predictions && o.reassign != "st", st = score_predictions && o.reassign != "tt";
    check_inputs(o, dataset, names, st);
    std::vector<std::string> class_names;
    for (const auto& c : dataset.classes) class_names.push_back(c.name);
    const auto models = ModelDirectory::resolve(o.common.models);
    const fs::path cache = eval_cache_dir(o.cache_dir);
    std::unique_ptr<eval::TextMatcher> text;
    std::unique_ptr<eval::SegmentMatcher> segment;
    if (tt || o.oracle) {
        const fs::path sbert = o.sbert_dir.empty() ? models.folder(kSbertFolder) : fs::path(o.sbert_dir);
        text = std::make_unique<eval::TextMatcher>(sbert, class_names, cache, o.common.device);
    }
    if (st) {
        models.require({kClipFolder});
        segment = std::make_unique<eval::SegmentMatcher>(models.folder(kClipFolder), models.file(kClipFolder, "vocab.json"),
                                                         models.file(kClipFolder, "merges.txt"), class_names, cache,
                                                         o.common.device);
    }

    // Loaded before any scoring so that a missing model fails at once.
    std::unique_ptr<Pipeline> pipeline;
    if (o.oracle)
        pipeline = Pipeline::load(models, o.params, o.cache_dir.empty() ? "" : (cache / "vocab").string());

    eval::EvalReport report;
    report.dataset = &dataset;
    report.images_listed = static_cast<int>(names.size());
    report.show_image_iou = o.iou != "dataset";
    report.show_dataset_iou = o.iou != "image";
    report.parameters = {{"dataset", o.dataset},
                         {"data", fs::absolute(data).string()},
                         {"pred", score_predictions ? fs::absolute(pred).string() : ""},
                         {"classes", o.classes_file.empty() ? eval::bundled_class_file(o.dataset).string() : o.classes_file},
                         {"reassign", o.reassign},
                         {"tau_sbert", o.tau_sbert},
                         {"tau_clip", o.tau_clip},
                         {"clip_prompt", eval::class_prompt("{class}")},
                         {"limit", o.limit},
                         {"merge", "union"},
                         {"recall_tau_iou", "0.00..1.00 step 0.01; headline at 0.50"}};
    if (tt || o.oracle) report.parameters["sbert"] = fs::absolute(o.sbert_dir.empty() ? models.folder(kSbertFolder) : fs::path(o.sbert_dir)).string();
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
        const auto t0 = SteadyClock::now();
        text->match(all);
        spdlog::info("encoded {} captions with Sentence-BERT in {:.1f} s", all.size(), seconds_since(t0));
    }

    for (size_t i = 0; score_predictions && i < names.size(); ++i) {
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
        show_progress(o, i + 1, names.size(), name);
    }
    if (score_predictions && !o.common.quiet && ::isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");

    if (o.oracle) {
        report.parameters["oracle"] = {{"captioner", pipeline->captioner()},
                                       {"device", pipeline->device()},
                                       {"dino_size", o.params.candidates.dino_size},
                                       {"masked_blocks", o.params.embedding.masked_blocks},
                                       {"global_subtraction", o.params.embedding.global_subtraction},
                                       {"crop_and_mask", o.params.embedding.crop_and_mask}};
        if (pipeline->captioner() == "vocab")
            report.parameters["oracle"]["vocab"] = o.params.vocab.vocab_file.empty() ? "bundled" : o.params.vocab.vocab_file;
        const auto t0 = SteadyClock::now();
        report.tgq = text_generation_quality(o, dataset, names, *pipeline, *text);
        size_t segments = 0;
        for (const auto& im : report.tgq->images) segments += im.classes.size();
        spdlog::info("captioned {} ground-truth segments of {} images in {:.1f} s", segments, names.size(),
                     seconds_since(t0));
    }
    for (const auto& a : sweeps) report.sweep.push_back(a.summary());
    report.seconds = seconds_since(start);

    std::cout << eval::format_tables(report) << std::flush;
    eval::write_reports(output, report, o.overwrite);
    spdlog::info("wrote {} and {} ({:.1f} s)", (output / "eval.json").string(), (output / "eval.csv").string(), report.seconds);
    if (score_predictions && !report.missing.empty())
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
    cmd->add_option("--pred", o->pred_dir,
                    "Folder of predictions NAME.json + NAME.png (+ NAME.embeddings.safetensors); optional with --oracle");
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
    cmd->add_flag("--oracle", o->oracle,
                  "Text Generation Quality: caption each ground-truth segment with stages 2 and 3 (the pipeline flags "
                  "below apply)");
    cmd->add_option("--cache-dir", o->cache_dir,
                    "Class-embedding cache (default ~/.cache/zgseg/eval); --oracle keeps its vocabulary cache in DIR/vocab "
                    "(default ~/.cache/zgseg/vocab)");
    cmd->add_flag("--overwrite", o->overwrite, "Replace an existing eval.json / eval.csv");
    add_pipeline_options(cmd, o->params, o->preset);
    add_common_options(cmd, o->common);
    return [cmd, o]() -> int { return run_eval(cmd, *o); };
}

}  // namespace zgseg::cli
