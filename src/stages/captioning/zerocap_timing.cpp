#include "stages/captioning/zerocap_timing.hpp"

#include <chrono>

#include "core/timing.hpp"

namespace zgseg {

ZeroCapStepTiming time_zerocap_steps(const Gpt2& lm, const Gpt2Tokenizer& lm_tokenizer, const ClipText& clip_text,
                                     const ClipTokenizer& clip_tokenizer, const std::vector<int64_t>& forbidden,
                                     ZeroCapParams params, ZeroCapSpeedups speedups, const torch::Tensor& image) {
    params.max_tokens = 2;
    // A large end factor could stop every beam at step 0; keep the beams going.
    params.first_step_end_factor = std::max(params.first_step_end_factor, 1.0);
    ZeroCapGenerator generator(lm, lm_tokenizer, clip_text, clip_tokenizer, forbidden, params, speedups);
    std::vector<SteadyClock::time_point> ends;
    ZeroCapTrace trace;
    trace.on_probs = [&](int, int, const torch::Tensor&) { ends.push_back(SteadyClock::now()); };
    generator.set_trace(trace);
    const auto unit = torch::nn::functional::normalize(image.to(torch::kFloat32).view({1, -1}),
                                                       torch::nn::functional::NormalizeFuncOptions().dim(1));
    const auto start = SteadyClock::now();
    generator.generate(unit);
    ZeroCapStepTiming t;
    if (!ends.empty()) t.step0_seconds = std::chrono::duration<double>(ends[0] - start).count();
    if (ends.size() > 1) t.step1_seconds = std::chrono::duration<double>(ends[1] - ends[0]).count();
    const auto& s = generator.stats();
    t.lm_seconds = s.lm_seconds;
    t.clip_seconds = s.clip.seconds;
    t.iterations = s.iterations;
    t.clip_flops = s.clip.flops;
    t.reference_clip_flops = s.clip.reference_flops;
    t.strings = s.clip.strings;
    t.strings_encoded = s.clip.strings_encoded;
    t.cache_hits = s.clip.cache_hits;
    if (s.shift_rows > 0) {
        t.shift = s.shift_sum / static_cast<double>(s.shift_rows);
        t.spacing = s.spacing_sum / static_cast<double>(s.shift_rows);
    }
    return t;
}

}  // namespace zgseg
