// The text side's rows: ZeroCap's two halves (CLIP's text tower on the
// candidate strings, a GPT-2 shift iteration), ZeroCap's token steps timed
// for real (ours and the reference's way), and eval's sentence encoder.
#include <algorithm>
#include <cstdio>
#include <string>

#include "bench/rows.hpp"
#include "core/config.hpp"
#include "text/wordpiece_tokenizer.hpp"

namespace zgseg::bench {

namespace {

constexpr int64_t kLabelStrings = 256;  // labels through all-mpnet-base-v2 (eval's label similarity)

void prepare_zerocap(Context& c) {
    c.gpt2();
    c.text_encoder();
    if (!c.gpt2_tokenizer)
        c.gpt2_tokenizer = std::make_unique<Gpt2Tokenizer>(c.models.file(kGpt2Folder, "vocab.json"),
                                                           c.models.file(kGpt2Folder, "merges.txt"));
    if (c.forbidden_tokens.empty())
        c.forbidden_tokens = read_forbidden_tokens(c.models.file(kGpt2Folder, "zerocap_forbidden_tokens.txt"));
}

ZeroCapStepTiming run_zerocap_steps(Context& c, const ZeroCapParams& params, const ZeroCapSpeedups& speedups) {
    torch::manual_seed(0);
    const auto image = torch::randn({c.clip_text().projection_dim()});
    return time_zerocap_steps(c.gpt2(), *c.gpt2_tokenizer, c.clip_text(), c.clip_tokenizer(), c.forbidden_tokens,
                              params, speedups, image);
}

// GPT-2 FLOPs of steps 0 and 1 with `iterations` shift iterations each.
double zerocap_gpt2_flops(Context& c, int iterations) {
    const auto& g = c.gpt2().config();
    const flops::Gpt2Shape shape{g.n_embd, g.n_inner, g.n_layer, g.vocab_size};
    return iterations * (flops::gpt2_zerocap_iteration(shape, 1, kZeroCapPromptTokens) +
                         flops::gpt2_zerocap_iteration(shape, c.zerocap.beam_size, kZeroCapPromptTokens + 1));
}

}  // namespace

Row clip_text_row() {
    Row r;
    r.name = "clip_text";
    r.title = "ZeroCap half: CLIP-L text tower on beams × candidates strings";
    r.networks = {kClipFolder};
    r.prepare = [](Context& c) {
        c.text_encoder();
        c.clip_texts.clear();
        for (int i = 0; i < c.o.clip_texts; ++i) {
            const auto& v = c.vocabulary[static_cast<size_t>(i) % c.vocabulary.size()];
            const bool repeat = static_cast<size_t>(i) >= c.vocabulary.size();
            c.clip_texts.push_back(prompted(repeat ? v + " " + std::to_string(i) : v));
        }
    };
    r.run = [](Context& c, int) { c.text_encoder().encode(c.clip_texts); };
    r.flops = [](Context& c) {
        return flops::clip_text(c.clip_text_shape(), c.clip_lengths(c.clip_texts), kClipTextBatch);
    };
    r.note = [](Context& c) {
        const auto lengths = c.clip_lengths(c.clip_texts);
        double mean = 0;
        for (auto l : lengths) mean += static_cast<double>(l);
        char buf[96];
        std::snprintf(buf, sizeof buf, "%zu strings, %.1f tokens on average", lengths.size(),
                      mean / std::max<size_t>(1, lengths.size()));
        return std::string(buf);
    };
    return r;
}

Row gpt2_iteration_row() {
    Row r;
    r.name = "gpt2_iteration";
    r.title = "ZeroCap half: GPT-2 medium forward + backward to the past keys/values, one new token per beam";
    r.networks = {kGpt2Folder};
    r.prepare = [](Context& c) {
        auto& g = c.gpt2();
        torch::manual_seed(1);
        const int64_t beams = c.zerocap.beam_size;
        const int64_t past = kZeroCapPromptTokens + c.o.caption_tokens - 1;
        const int64_t vocab = g.config().vocab_size;
        const auto context = torch::randint(0, vocab, {beams, past}, torch::kLong).to(c.device);
        c.gpt2_last = torch::randint(0, vocab, {beams, 1}, torch::kLong).to(c.device);
        torch::NoGradGuard no_grad;
        c.gpt2_past = g.forward(context).presents;
    };
    r.run = [](Context& c, int) {
        // ZeroCap's iteration: shift the cached keys/values by trainable
        // deltas, score the next token, backpropagate.
        PastKeyValues shifted;
        std::vector<torch::Tensor> deltas;
        for (const auto& kv : c.gpt2_past) {
            auto dk = torch::zeros_like(kv.key).requires_grad_(true);
            auto dv = torch::zeros_like(kv.value).requires_grad_(true);
            shifted.push_back({kv.key + dk, kv.value + dv});
            deltas.push_back(dk);
            deltas.push_back(dv);
        }
        const auto out = c.gpt2().forward(c.gpt2_last, shifted, {}, Gpt2::LogitsFor::Last);
        const auto log_probs = torch::log_softmax(out.logits.squeeze(1), -1);  // (beams, vocab)
        const auto loss = -log_probs.select(1, 13).sum();                        // token "."
        loss.backward();
    };
    r.flops = [](Context& c) {
        const auto& g = c.gpt2().config();
        return flops::gpt2_zerocap_iteration({g.n_embd, g.n_inner, g.n_layer, g.vocab_size}, c.zerocap.beam_size,
                                             kZeroCapPromptTokens + c.o.caption_tokens - 1);
    };
    r.note = [](Context& c) {
        return std::to_string(c.zerocap.beam_size) + " beams, past " +
               std::to_string(kZeroCapPromptTokens + c.o.caption_tokens - 1) + " tokens";
    };
    return r;
}

Row mpnet_row() {
    Row r;
    r.name = "mpnet";
    r.title = "eval: all-mpnet-base-v2 on label strings";
    r.networks = {kSbertFolder};
    r.prepare = [](Context& c) {
        c.mpnet();
        const auto tokenizer = WordPieceTokenizer::from_folder(c.models.folder(kSbertFolder));
        c.label_ids.clear();
        for (int64_t i = 0; i < kLabelStrings; ++i) {
            const auto ids = tokenizer.encode_truncated(c.vocabulary[static_cast<size_t>(i) % c.vocabulary.size()]);
            c.label_ids.emplace_back(ids.begin(), ids.end());
        }
    };
    r.run = [](Context& c, int) { c.mpnet().encode(c.label_ids); };
    r.flops = [](Context& c) {
        int64_t longest = 0;
        for (const auto& s : c.label_ids) longest = std::max<int64_t>(longest, static_cast<int64_t>(s.size()));
        const auto cfg = ModelConfig::load(c.models.folder(kSbertFolder) / "config.json").json();
        return flops::sentence_encoder({cfg.value("hidden_size", int64_t{0}), cfg.value("intermediate_size", int64_t{0}),
                                        cfg.value("num_hidden_layers", int64_t{0}), 0},
                                       static_cast<int64_t>(c.label_ids.size()), longest);
    };
    r.note = [](Context& c) { return std::to_string(c.label_ids.size()) + " labels, padded to the longest"; };
    return r;
}

// The real thing: ZeroCap's first two token steps (step 0 has one row, later
// steps one row per beam) with the exact speed-ups on; the note splits the
// time and gives the CLIP-text FLOPs against the reference's way.
Row zerocap_steps_row() {
    Row r;
    r.name = "zerocap_steps";
    r.title = "ZeroCap: token steps 0 and 1 (the captioner itself, speed-ups on)";
    r.networks = {kGpt2Folder, kClipFolder};
    r.prepare = prepare_zerocap;
    r.run = [](Context& c, int) { c.zerocap_timing = run_zerocap_steps(c, c.zerocap, ZeroCapSpeedups{}); };
    r.flops = [](Context& c) { return c.zerocap_timing.clip_flops + zerocap_gpt2_flops(c, c.zerocap.iterations); };
    r.note = [](Context& c) {
        const auto& t = c.zerocap_timing;
        char buf[560];
        std::snprintf(buf, sizeof buf,
                      "step 0 %.1f s + step 1 %.1f s; GPT-2 %.1f s, CLIP text %.1f s; CLIP-text %.2f TFLOP vs "
                      "%.2f the reference's way (%.1fx fewer); %lld strings, %lld encoded, step-cache hit "
                      "rate %.1f%% (an iteration moves the top-%d log p by %.3g; their spacing at rank %d is "
                      "%.3g)",
                      t.step0_seconds, t.step1_seconds, t.lm_seconds, t.clip_seconds, t.clip_flops / 1e12,
                      t.reference_clip_flops / 1e12, t.reference_clip_flops / std::max(t.clip_flops, 1.0),
                      static_cast<long long>(t.strings), static_cast<long long>(t.strings_encoded),
                      100.0 * static_cast<double>(t.cache_hits) / std::max<double>(1, static_cast<double>(t.strings)),
                      c.zerocap.clip_candidates, t.shift, c.zerocap.clip_candidates, t.spacing);
        return std::string(buf);
    };
    return r;
}

// The same two steps the reference's way (ZeroCapSpeedups::reference(): every
// candidate padded to 77, one beam row at a time, one segment at a time, no
// caches), timed for real. With --quick each step runs 1 shift iteration
// instead of 5: in this mode an iteration's work does not depend on the
// candidates, so the derived row zerocap_speedup scales it by the iterations.
Row zerocap_steps_reference_row() {
    Row r;
    r.name = "zerocap_steps_reference";
    r.title = "ZeroCap: token steps 0 and 1 the reference's way (padded to 77, one beam at a time, no caches)";
    r.default_on = false;  // ~35 min on 2 quiet cores: --stages zerocap_steps,zerocap_steps_reference [--quick]
    r.networks = {kGpt2Folder, kClipFolder};
    r.prepare = prepare_zerocap;
    r.run = [](Context& c, int) {
        auto params = c.zerocap;
        if (c.o.quick) params.iterations = std::min(params.iterations, 1);
        c.zerocap_reference_iterations = params.iterations;
        c.zerocap_reference_timing = run_zerocap_steps(c, params, ZeroCapSpeedups::reference());
    };
    r.flops = [](Context& c) {
        return c.zerocap_reference_timing.clip_flops + zerocap_gpt2_flops(c, c.zerocap_reference_iterations);
    };
    r.note = [](Context& c) {
        const auto& t = c.zerocap_reference_timing;
        char buf[320];
        std::snprintf(buf, sizeof buf,
                      "%d of %d shift iterations per step%s; step 0 %.1f s + step 1 %.1f s; GPT-2 %.1f s, "
                      "CLIP text %.1f s; CLIP-text %.2f TFLOP",
                      c.zerocap_reference_iterations, c.zerocap.iterations,
                      c.zerocap_reference_iterations < c.zerocap.iterations ? " (--quick)" : "", t.step0_seconds,
                      t.step1_seconds, t.lm_seconds, t.clip_seconds, t.clip_flops / 1e12);
        return std::string(buf);
    };
    return r;
}

}  // namespace zgseg::bench
