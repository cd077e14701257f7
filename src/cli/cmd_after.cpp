// After the batch: `zgseg report`, `search`, `index` and `export` over the
// folder `zgseg batch` wrote. None of them writes over a file of the batch;
// their own outputs are written atomically and replace an existing file only
// with --overwrite (the search index, which is theirs, is refreshed in place).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "after/batch_folder.hpp"
#include "after/coco_export.hpp"
#include "after/ranking.hpp"
#include "after/report.hpp"
#include "after/segment_index.hpp"
#include "cli/commands.hpp"
#include "core/model_dir.hpp"
#include "core/sha256.hpp"
#include "core/timing.hpp"
#include "io/atomic_file.hpp"
#include "io/output_files.hpp"
#include "reassign/class_matcher.hpp"
#include "reassign/query_encoder.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::cli {

namespace {

using after::BatchFolder;

// Our output file: never a batch file, never an existing file without --overwrite.
void write_output(const BatchFolder& batch, const fs::path& path, const std::string& bytes, bool overwrite) {
    after::refuse_input_destination(batch, path);
    write_file_atomic(path, bytes, overwrite);
}

// The index when OUT has one (nullptr when not); zgseg::Error when the file
// there is not a usable zgseg index.
std::unique_ptr<after::SegmentIndex> open_existing_index(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return nullptr;
    return std::make_unique<after::SegmentIndex>(after::SegmentIndex::open(path));
}

std::string short_sha(const std::string& sha) { return sha.empty() ? "(not recorded)" : sha.substr(0, 12) + "…"; }

struct SearchOptions {
    CommonOptions common;
    std::string out, query;
    size_t top = 10;
    bool json = false, no_index = false, trust_index = false;
};

int run_search(const SearchOptions& o) {
    apply_common_options(o.common);
    BatchFolder batch;
    std::unique_ptr<after::SegmentIndex> index;
    std::string index_state = "none";
    if (o.trust_index) {  // no scan of the folder: the fastest search, for a batch that no longer changes
        std::error_code ec;
        batch.root = fs::canonical(o.out, ec);
        if (ec) throw Error("batch folder '" + o.out + "' does not exist; give the -o folder of zgseg batch");
        index = open_existing_index(after::index_path(batch));
        if (!index) throw Error("--trust-index: '" + after::index_path(batch).string() + "' does not exist; run zgseg index " + o.out);
        index_state = "trusted";
    } else {
        batch = after::scan_batch(o.out);
        if (!o.no_index) index = open_existing_index(after::index_path(batch));
    }
    const fs::path index_file = after::index_path(batch);
    if (index && !o.trust_index) {
        const auto stale = after::compare_with_batch(*index, batch);
        index_state = "fresh";
        if (!stale.fresh()) {
            spdlog::info("index '{}' is stale ({}); refreshing it", index_file.string(), stale.describe());
            after::write_index(batch, index_file, index.get());
            index = std::make_unique<after::SegmentIndex>(after::SegmentIndex::open(index_file));
            index_state = "refreshed";
        }
    } else if (!index && !o.no_index) {
        spdlog::info("no index in '{}': reading every embeddings file (zgseg index {} makes repeated searches fast)",
                     batch.root.string(), o.out);
    }
    after::LoadedSegments loaded;
    if (!index) loaded = after::load_segments(batch);
    const std::string made_by = index ? index->clip_model() : loaded.clip_model;

    // The query must be embedded by the model that made the batch.
    const auto models = ModelDirectory::resolve(o.common.models);
    models.require({kClipFolder});
    const std::string ours = sha256_file(models.folder(kClipFolder) / "config.json");
    if (!made_by.empty() && made_by != ours)
        throw Error(std::string(index ? "the index '" + index_file.string() + "'" : "the batch '" + o.out + "'") +
                    " was made by another CLIP model (config.json sha256 " + short_sha(made_by) + ") than '" +
                    (models.folder(kClipFolder) / "config.json").string() + "' (" + short_sha(ours) +
                    "); pass --models with the model directory that made the batch");
    auto t = SteadyClock::now();
    const auto query = clip_query_embedding(models.folder(kClipFolder), models.file(kClipFolder, "vocab.json"),
                                            models.file(kClipFolder, "merges.txt"), o.query, o.common.device);
    spdlog::debug("query embedded in {:.3f} s", seconds_since(t));
    const size_t rows = index ? index->rows() : loaded.image_names.size();
    const size_t dim = index ? index->dim() : loaded.dim;
    if (rows > 0 && dim != query.size())
        throw Error("the batch's embeddings have " + std::to_string(dim) + " values but this CLIP model's " +
                    std::to_string(query.size()) + "; pass --models with the model directory that made the batch");

    t = SteadyClock::now();
    std::vector<float> scores(rows);
    if (index)
        after::dot_rows_f16(index->embeddings(), rows, dim, query.data(), scores.data(), o.common.threads);
    else
        after::dot_rows_f32(loaded.embeddings.data(), rows, dim, query.data(), scores.data(), o.common.threads);
    const auto best = after::top_k(scores, o.top);
    spdlog::info("ranked {} segments of {} images in {:.3f} s ({})", rows, index ? index->images() : batch.images.size(),
                 seconds_since(t),
                 index ? "float16 index" : "float32, no index");

    nlohmann::json results = nlohmann::json::array();
    for (size_t r = 0; r < best.size(); ++r) {
        const size_t row = best[r].row;
        const std::string image = index ? index->image_name(index->image_of_row(row)) : loaded.image_names[row];
        const int id = index ? index->segment_id(row) : loaded.segment_ids[row];
        const std::string label = index ? index->label(row) : loaded.labels[row];
        results.push_back({{"rank", r + 1}, {"score", best[r].score}, {"image", image}, {"segment_id", id},
                           {"label", label}, {"json", output_paths(batch.root / image).json().string()}});
    }
    if (o.json) {
        std::cout << nlohmann::json({{"query", o.query}, {"prompt", eval::class_prompt(o.query)},
                                     {"clip_model", made_by}, {"segments", rows}, {"index", index_state},
                                     {"results", results}})
                         .dump(1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
    } else {
        std::printf("%-5s %-8s %-8s %s\n", "rank", "score", "segment", "image: label");
        for (const auto& r : results)
            std::printf("%-5zu %-8.4f %-8d %s: %s\n", r["rank"].get<size_t>(), r["score"].get<double>(),
                        r["segment_id"].get<int>(), r["image"].get<std::string>().c_str(),
                        r["label"].get<std::string>().c_str());
    }
    return 0;
}

}  // namespace

Action add_search_command(CLI::App& app) {
    auto o = std::make_shared<SearchOptions>();
    auto* cmd = app.add_subcommand("search", "Rank every segment of a batch by the CLIP cosine between \"Image of a "
                                             "{QUERY}.\" and the segment's stored image embedding");
    cmd->add_option("out", o->out, "The batch folder (zgseg batch -o OUT)")->required();
    cmd->add_option("query", o->query, "What to look for, e.g. \"red car\"")->required();
    cmd->add_option("--top", o->top, "How many segments to print")->check(CLI::Range(1, 100000000));
    cmd->add_flag("--json", o->json, "One JSON document on stdout (for scripts)");
    auto* no_index = cmd->add_flag("--no-index", o->no_index, "Read the embeddings files even when OUT has an index");
    cmd->add_flag("--trust-index", o->trust_index,
                  "Use OUT's index without checking the folder for new or changed images (fastest, for a finished batch)")
        ->excludes(no_index);
    add_common_options(cmd, o->common);
    return [o] { return run_search(*o); };
}

Action add_index_command(CLI::App& app) {
    struct IndexOptions {
        CommonOptions common;
        std::string out;
        bool overwrite = false;
    };
    auto o = std::make_shared<IndexOptions>();
    auto* cmd = app.add_subcommand("index", "Gather a batch's segment embeddings into OUT/zgseg-index.safetensors "
                                            "(float16, memory-mapped) for fast searches; refreshes a stale index");
    cmd->add_option("out", o->out, "The batch folder (zgseg batch -o OUT)")->required();
    cmd->add_flag("--overwrite", o->overwrite, "Replace OUT/zgseg-index.safetensors even if it is not a zgseg index");
    add_logging_options(cmd, o->common);
    return [o]() -> int {
        apply_common_options(o->common);
        const auto start = SteadyClock::now();
        const auto batch = after::scan_batch(o->out);
        const fs::path file = after::index_path(batch);
        std::unique_ptr<after::SegmentIndex> old;
        try {
            old = open_existing_index(file);
        } catch (const Error& e) {
            if (!o->overwrite) throw Error(std::string(e.what()) + " (or pass --overwrite to replace it)");
        }
        if (old && after::compare_with_batch(*old, batch).fresh()) {
            spdlog::info("index '{}' is up to date: {} images, {} segments", file.string(), old->images(), old->rows());
            return 0;
        }
        const auto stats = after::write_index(batch, file, old.get());
        spdlog::info("index '{}': {} images ({} read, {} unchanged), {} segments, {:.1f} s", file.string(), stats.images,
                     stats.read_images, stats.reused_images, stats.rows, seconds_since(start));
        return 0;
    };
}

Action add_report_command(CLI::App& app) {
    struct ReportOptions {
        CommonOptions common;
        std::string out, html;
        bool overwrite = false;
    };
    auto o = std::make_shared<ReportOptions>();
    auto* cmd = app.add_subcommand("report", "Write one self-contained, offline HTML page for a batch folder "
                                             "(overlays, labels, segments, filter, summary)");
    cmd->add_option("out", o->out, "The batch folder (zgseg batch -o OUT)")->required();
    cmd->add_option("-o,--output", o->html, "The HTML file (default OUT/report.html)");
    cmd->add_flag("--overwrite", o->overwrite, "Replace an existing HTML file");
    add_logging_options(cmd, o->common);
    return [o]() -> int {
        apply_common_options(o->common);
        const auto batch = after::scan_batch(o->out);
        const fs::path html = o->html.empty() ? batch.root / "report.html" : fs::path(o->html);
        after::refuse_input_destination(batch, html);
        std::error_code ec;
        if (!o->overwrite && fs::exists(html, ec))
            throw Error("output '" + html.string() + "' already exists; pass --overwrite to replace it");
        after::ReportStats stats;
        const std::string page = after::report_html(batch, html, &stats);
        write_output(batch, html, page, o->overwrite);
        spdlog::info("report '{}': {} images, {} segments, {} failed images ({:.1f} MB)", html.string(), stats.images,
                     stats.segments, stats.failures, page.size() / 1e6);
        return 0;
    };
}

Action add_export_command(CLI::App& app) {
    struct ExportOptions {
        CommonOptions common;
        std::string out, format = "coco", file;
        bool overwrite = false;
    };
    auto o = std::make_shared<ExportOptions>();
    auto* cmd = app.add_subcommand("export", "Export a batch for other tools: one COCO instances file with RLE masks "
                                             "(pycocotools, FiftyOne, CVAT)");
    cmd->add_option("out", o->out, "The batch folder (zgseg batch -o OUT)")->required();
    cmd->add_option("--format", o->format, "Output format")->check(CLI::IsMember({"coco"}));
    cmd->add_option("-o,--output", o->file, "The file to write, e.g. coco.json")->required();
    cmd->add_flag("--overwrite", o->overwrite, "Replace an existing file");
    add_logging_options(cmd, o->common);
    return [o]() -> int {
        apply_common_options(o->common);
        const auto batch = after::scan_batch(o->out);
        after::refuse_input_destination(batch, o->file);
        std::error_code ec;
        if (!o->overwrite && fs::exists(o->file, ec))
            throw Error("output '" + o->file + "' already exists; pass --overwrite to replace it");
        after::CocoExportStats stats;
        const auto coco = after::coco_from_batch(batch, &stats);
        write_output(batch, o->file, coco.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", o->overwrite);
        spdlog::info("export '{}': {} images, {} annotations, {} categories", o->file, stats.images, stats.annotations,
                     stats.categories);
        return 0;
    };
}

}  // namespace zgseg::cli
