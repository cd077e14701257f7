// The extrapolated rows (derived_rows.hpp): one function a row, each computed
// from the timed rows it names, skipped when one of them was not timed.
#include "bench/derived_rows.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

using nlohmann::json;

namespace zgseg::bench {

namespace {

// A copy: `rows` grows while the derived rows are added.
std::optional<json> find_row(const json& rows, const std::string& name) {
    for (const auto& r : rows)
        if (r["name"] == name) return r;
    return std::nullopt;
}

json derived(const std::string& name, const std::string& title, double min_s, double median_s, double flop,
             const std::string& note) {
    return {{"name", name},
            {"title", title},
            {"kind", "extrapolated"},
            {"reps", 0},
            {"seconds", json::array()},
            {"min_s", min_s},
            {"median_s", median_s},
            {"gflop", flop > 0 ? json(flop / 1e9) : json(nullptr)},
            {"gflops_per_s", flop > 0 && min_s > 0 ? json(flop / 1e9 / min_s) : json(nullptr)},
            {"peak_rss_mib", nullptr},
            {"rss_growth_mib", nullptr},
            {"cuda_peak_mib", nullptr},
            {"note", note},
            {"random_sensitive", false}};
}

double gflop_or_zero(const json& row) { return row["gflop"].is_number() ? row["gflop"].get<double>() * 1e9 : 0; }

double min_s(const json& row) { return row["min_s"].get<double>(); }
double median_s(const json& row) { return row["median_s"].get<double>(); }

// Step 1's share of zerocap_steps' time: a later token step with beam rows.
double step1_share(const Context& c) {
    const auto& t = c.zerocap_timing;
    return t.step1_seconds / std::max(t.step0_seconds + t.step1_seconds, 1e-9);
}

std::optional<json> vocab_cache_full(const Context& c, const json& rows) {
    const auto cache = find_row(rows, "vocab_cache");
    if (!cache) return std::nullopt;
    const double entries = static_cast<double>(std::min(c.vocabulary.size(), static_cast<size_t>(c.o.vocab_entries)));
    const double scale = static_cast<double>(c.vocabulary.size()) / entries;
    char buf[400];
    std::snprintf(buf, sizeof buf, "vocab_cache × %.1f (%zu / %.0f entries); once per model and vocabulary", scale,
                  c.vocabulary.size(), entries);
    return derived("vocab_cache_full", "stage 3 set-up: the full vocabulary cache build", min_s(*cache) * scale,
                   median_s(*cache) * scale, gflop_or_zero(*cache) * scale, buf);
}

// One token step: step 1's share of zerocap_steps when that was timed, else
// built from ZeroCap's two halves.
std::optional<json> zerocap_token_step(const Context& c, const json& rows) {
    char buf[400];
    if (const auto steps = find_row(rows, "zerocap_steps")) {
        const double share = step1_share(c);
        std::snprintf(buf, sizeof buf, "step 1's share (%.2f) of zerocap_steps: one token step with %d beam rows",
                      share, c.zerocap.beam_size);
        return derived("zerocap_token_step", "ZeroCap: one token step (5 iterations, beam rows)", min_s(*steps) * share,
                       median_s(*steps) * share, 0, buf);
    }
    const auto gpt2 = find_row(rows, "gpt2_iteration");
    const auto text = find_row(rows, "clip_text");
    if (!gpt2 || !text) return std::nullopt;
    // One token step = `iterations` × (GPT-2 iteration + CLIP text on beams × candidates strings).
    const double strings = static_cast<double>(c.zerocap.beam_size) * c.zerocap.clip_candidates;
    const double text_scale = strings / c.o.clip_texts;
    const double it = c.zerocap.iterations;
    auto combine = [&](const char* key) {
        return it * ((*gpt2)[key].get<double>() + (*text)[key].get<double>() * text_scale);
    };
    std::snprintf(buf, sizeof buf,
                  "%d iterations × (gpt2_iteration + clip_text × %.2f), without the step's 3 no-grad GPT-2 passes",
                  c.zerocap.iterations, text_scale);
    char title[128];
    std::snprintf(title, sizeof title, "ZeroCap: one token step (%d beams × %d candidates)", c.zerocap.beam_size,
                  c.zerocap.clip_candidates);
    return derived("zerocap_token_step", title, combine("min_s"), combine("median_s"),
                   it * (gflop_or_zero(*gpt2) + gflop_or_zero(*text) * text_scale), buf);
}

// Side by side: the reference's way (scaled to all iterations when --quick timed fewer) against ours.
std::optional<json> zerocap_speedup(const Context& c, const json& rows) {
    const auto reference = find_row(rows, "zerocap_steps_reference");
    const auto steps = find_row(rows, "zerocap_steps");
    if (!steps || !reference || c.zerocap_reference_iterations <= 0) return std::nullopt;
    const double scale = static_cast<double>(c.zerocap.iterations) / c.zerocap_reference_iterations;
    const double ref_s = min_s(*reference) * scale, ours = min_s(*steps);
    const double ref_flops = c.zerocap_reference_timing.clip_flops * scale;
    const auto& t = c.zerocap_timing;
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "the reference's way %.1f s%s / zerocap_steps %.1f s: %.1fx faster; CLIP-text FLOPs %.1fx fewer; "
                  "step-cache hit rate %.1f%%",
                  ref_s, scale > 1 ? " (1 iteration timed per step, x iterations)" : " (timed)", ours,
                  ref_s / std::max(ours, 1e-9), ref_flops / std::max(t.clip_flops, 1.0),
                  100.0 * static_cast<double>(t.cache_hits) / std::max<double>(1, static_cast<double>(t.strings)));
    return derived("zerocap_speedup", "ZeroCap steps 0 and 1: the reference's way / the captioner's", ref_s,
                   median_s(*reference) * scale, 0, buf);
}

// One segment's caption of --caption-tokens tokens.
std::optional<json> zerocap_caption(const Context& c, const json& rows) {
    char buf[400];
    if (const auto steps = find_row(rows, "zerocap_steps")) {
        // Step 0 (one row) + (tokens − 1) later steps; a later step's context is
        // a few tokens longer than step 1's, which this leaves out.
        const double share = step1_share(c);
        const double scale = (1 - share) + (c.o.caption_tokens - 1) * share;
        std::snprintf(buf, sizeof buf, "zerocap_steps × %.2f = step 0 + %d × step 1 (fixed caption length)", scale,
                      c.o.caption_tokens - 1);
        return derived("zerocap_caption", "ZeroCap: one segment's caption", min_s(*steps) * scale,
                       median_s(*steps) * scale, 0, buf);
    }
    const auto step = find_row(rows, "zerocap_token_step");
    if (!step) return std::nullopt;
    const double t = c.o.caption_tokens;
    std::snprintf(buf, sizeof buf, "zerocap_token_step × %d tokens (fixed caption length)", c.o.caption_tokens);
    return derived("zerocap_caption", "ZeroCap: one segment's caption", min_s(*step) * t, median_s(*step) * t,
                   gflop_or_zero(*step) * t, buf);
}

// A whole image as the sum of its stages (the model loading and the
// vocabulary cache excluded); nothing when a stage was not timed.
struct ImageSum {
    double min_s = 0, median_s = 0, flop = 0;
};
std::optional<ImageSum> image_sum(const json& rows) {
    ImageSum sum;
    for (const char* part : {"image", "dino_keys", "ward", "prune", "crf", "embedding", "caption", "merging", "outputs"}) {
        const auto r = find_row(rows, part);
        if (!r) return std::nullopt;
        sum.min_s += min_s(*r);
        sum.median_s += median_s(*r);
        sum.flop += gflop_or_zero(*r);
    }
    return sum;
}

std::optional<json> image_total_vocab(const Context& c, const json& rows) {
    const auto sum = image_sum(rows);
    if (!sum) return std::nullopt;
    char buf[400];
    std::snprintf(buf, sizeof buf, "sum of image … outputs, %d nodes", c.o.nodes);
    return derived("image_total_vocab", "one image with the vocabulary captioner", sum->min_s, sum->median_s, sum->flop,
                   buf);
}

std::optional<json> image_total_zerocap(const Context& c, const json& rows) {
    const auto sum = image_sum(rows);
    const auto caption = find_row(rows, "zerocap_caption");
    const auto vocab = find_row(rows, "caption");
    if (!sum || !caption || !vocab) return std::nullopt;
    const double n = c.o.nodes;
    char buf[400];
    std::snprintf(buf, sizeof buf, "image_total_vocab − caption + %d × zerocap_caption", c.o.nodes);
    return derived("image_total_zerocap", "one image with ZeroCap", sum->min_s - min_s(*vocab) + n * min_s(*caption),
                   sum->median_s - median_s(*vocab) + n * median_s(*caption),
                   sum->flop - gflop_or_zero(*vocab) + n * gflop_or_zero(*caption), buf);
}

}  // namespace

void add_derived_rows(const Context& c, json& rows) {
    // In this order: a row may read the ones before it.
    for (const auto derive : {vocab_cache_full, zerocap_token_step, zerocap_speedup, zerocap_caption, image_total_vocab,
                              image_total_zerocap})
        if (const auto row = derive(c, rows)) rows.push_back(*row);
}

}  // namespace zgseg::bench
