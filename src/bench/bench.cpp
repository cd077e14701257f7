// `zgseg bench`: chooses the rows to run (bench/rows.hpp), sets up the models
// and the shared context (bench/context.hpp), times each chosen row
// (bench/row_timer.hpp), adds the derived rows (bench/derived_rows.hpp) and
// assembles the report with the machine and the settings.
#include "bench/bench.hpp"

#include <algorithm>
#include <set>

#include "bench/context.hpp"
#include "bench/derived_rows.hpp"
#include "bench/machine.hpp"
#include "bench/row_timer.hpp"
#include "bench/rows.hpp"
#include "core/cache_dir.hpp"
#include "core/log.hpp"
#include "core/timing.hpp"
#include "nets/device.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zgseg::bench {

namespace {

// A VOC photo of the selftest data: an installed bundle's share/zgseg/selftest,
// else the source tree the binary was built from (tests/data).
fs::path default_image() {
    return bundled_selftest_dir() / "voc-sample" / "JPEGImages" / "2011_000003.jpg";
}

// The rows to time (--stages, else the default set), and those that run once
// untimed because a timed one reads their outputs.
struct Selection {
    std::set<std::string> timed, needed;
    bool runs(const Row& row) const { return timed.count(row.name) || needed.count(row.name); }
};

Selection select_rows(const std::vector<Row>& rows, const std::vector<std::string>& stages) {
    Selection s;
    for (const auto& name : stages) {
        if (std::none_of(rows.begin(), rows.end(), [&](const Row& r) { return r.name == name; })) {
            std::string names;
            for (const auto& r : rows) names += (names.empty() ? "" : ", ") + r.name;
            throw UsageError("--stages: unknown stage '" + name + "' (stages: " + names + ")");
        }
        s.timed.insert(name);
    }
    if (s.timed.empty())
        for (const auto& r : rows)
            if (r.default_on) s.timed.insert(r.name);
    for (auto it = rows.rbegin(); it != rows.rend(); ++it)
        if (s.runs(*it))
            for (const auto& n : it->needs) s.needed.insert(n);
    return s;
}

// The models to time: random ones made once in the cache folder, or --models.
// Returns the report's "models" (without the load times).
json set_up_models(Context& c, const BenchOptions& options) {
    json models;
    if (options.models.empty()) {
        const char* size = options.model_size == ModelSize::Full ? "full" : "tiny";
        const fs::path root =
            (options.cache_dir.empty() ? cache_root() / "bench-models" : fs::path(options.cache_dir)) / size;
        const auto start = SteadyClock::now();
        const auto created = ensure_random_models(root, options.model_size);
        models = {{"random_weights", true}, {"size", size}, {"created", created}, {"create_seconds", seconds_since(start)}};
        c.models = ModelDirectory(root);
    } else {
        c.models = ModelDirectory::resolve(options.models);
        models = {{"random_weights", false}};
    }
    models["folder"] = c.models.root().string();
    return models;
}

json random_weight_notes(const Context& c) {
    std::string stage1 =
        "ward, prune, crf, merging, outputs: their work depends on the features; with random weights the number of "
        "leaves, the Ward rescans, the accepted merges and the final segments are not those of a trained model (a real photo gives at most " +
        std::to_string(c.candidate_params.max_splits + 1) + " leaves)";
    if (c.partition.leaf_count() > 0) stage1 += "; here " + std::to_string(c.partition.leaf_count()) + " leaves";
    if (!c.merged.nodes.empty())
        stage1 += ", " + std::to_string(c.merged.feature_calls - static_cast<int>(c.leaf_heap_ids.size())) +
                  " merges accepted";
    return json::array(
        {"Network times (DINO, CLIP, GPT-2, MPNet) do not depend on the weight values.", stage1 + ".",
         "embedding, caption: fixed at " + std::to_string(c.o.nodes) +
             " nodes in one call (a real image computes its leaves in one call, then each accepted merge in its own).",
         "ZeroCap: extrapolated for a fixed caption length of " + std::to_string(c.o.caption_tokens) +
             " tokens; a real caption stops at its end token, usually sooner."});
}

// The largest of the rows' values of `key` (MiB); `none` when no row has one.
json largest(const json& rows, const char* key, json none) {
    json best = none;
    for (const auto& r : rows)
        if (r[key].is_number()) best = std::max(best.is_number() ? best.get<double>() : 0.0, r[key].get<double>());
    return best;
}

}  // namespace

std::vector<StageInfo> stage_list() {
    std::vector<StageInfo> out;
    for (const auto& r : make_rows()) out.push_back({r.name, r.title, r.default_on});
    return out;
}

json run_bench(const BenchOptions& options) {
    const auto rows = make_rows();
    const Selection selection = select_rows(rows, options.stages);

    Context c;
    c.o = options;
    if (c.o.image.empty()) c.o.image = default_image().string();
    if (!fs::exists(c.o.image)) throw Error("bench image '" + c.o.image + "' not found; give one with --image PHOTO.jpg");
    c.device = device_from_flag(options.device);
    c.candidate_params.dino_stride = options.dino_stride;
    c.embedding_params.segments_per_batch = options.embed_batch;
    c.vocabulary = read_vocabulary(bundled_models_dir() / "vocab" / "wordnet-nouns.txt");

    json report;
    report["zgseg_version"] = ZGSEG_VERSION;
    report["machine"] = machine_info();
    report["machine"]["device"] = c.device.is_cuda() ? "cuda" : "cpu";
    report["load_average_start"] = load_average();

    json models = set_up_models(c, options);
    // Every network the rows to run load, checked up front: one message listing every missing file.
    std::set<std::string> networks;
    for (const auto& row : rows)
        if (selection.runs(row)) networks.insert(row.networks.begin(), row.networks.end());
    c.models.require({networks.begin(), networks.end()});

    json timed = json::array();
    for (const auto& row : rows) {
        if (!selection.runs(row)) continue;
        if (row.prepare) row.prepare(c);
        if (selection.timed.count(row.name)) {
            timed.push_back(time_row(c, row));
        } else {
            log::info("bench: " + row.name + " (untimed, for its outputs)");
            row.run(c, 0);
        }
    }
    add_derived_rows(c, timed);

    models["load_seconds"] = c.load_seconds;
    report["models"] = models;
    report["image"] = {{"path", c.o.image}, {"width", c.image.original_size.width},
                       {"height", c.image.original_size.height}};
    report["settings"] = {{"repeat", options.repeat},     {"max_stage_seconds", options.max_stage_seconds},
                          {"nodes", options.nodes},       {"vocab_entries", options.vocab_entries},
                          {"clip_texts", options.clip_texts}, {"caption_tokens", options.caption_tokens},
                          {"dino_stride", options.dino_stride}, {"embed_batch", options.embed_batch},
                          {"zerocap_beams", c.zerocap.beam_size}, {"zerocap_iterations", c.zerocap.iterations},
                          {"zerocap_candidates", c.zerocap.clip_candidates}, {"precision", "fp32"}};
    report["rows"] = timed;
    report["random_weights"] = models["random_weights"].get<bool>() ? random_weight_notes(c) : json::array();
    report["peak_rss_mib"] = largest(timed, "peak_rss_mib", 0.0);
    report["cuda_peak_mib"] = largest(timed, "cuda_peak_mib", nullptr);  // the largest stage peak on the GPU
    report["load_average_end"] = load_average();
    return report;
}

}  // namespace zgseg::bench
