// The captioner list (captioners.hpp): one entry a captioner, with the
// function that builds it and its section of NAME.json's "parameters".
#include "stages/captioning/captioners.hpp"

#include "core/cache_dir.hpp"
#include "core/model_dir.hpp"
#include "nets/gpt2.hpp"
#include "stages/captioning/captioner.hpp"
#include "stages/captioning/vocab_captioner.hpp"
#include "stages/captioning/zerocap.hpp"
#include "text/gpt2_tokenizer.hpp"
#include "zgseg/error.hpp"
#include "zgseg/params.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zgseg {

namespace {

// ZeroCap (the paper's captioner) with the GPT-2 it steers, which it owns.
class ZeroCapOnGpt2 : public Captioner {
public:
    explicit ZeroCapOnGpt2(const CaptionerSetup& s)
        // GPT-2 stays float32 whatever --precision says: its past is optimised by gradient steps.
        : lm_(Gpt2::load(s.models.folder(kGpt2Folder), s.device, torch::kFloat32)),
          lm_tokenizer_(s.models.file(kGpt2Folder, "vocab.json"), s.models.file(kGpt2Folder, "merges.txt")),
          captioner_(std::make_unique<ZeroCapGenerator>(
                         lm_, lm_tokenizer_, s.clip_text, s.clip_tokenizer,
                         read_forbidden_tokens(s.models.file(kGpt2Folder, "zerocap_forbidden_tokens.txt")),
                         s.params.zerocap, ZeroCapSpeedups{CandidateTextOptions{}, s.params.zerocap.segments_per_batch}),
                     s.text_encoder) {}

    ZeroCapOnGpt2(const ZeroCapOnGpt2&) = delete;  // the generator holds references to lm_ and lm_tokenizer_
    ZeroCapOnGpt2& operator=(const ZeroCapOnGpt2&) = delete;

    std::string name() const override { return captioner_.name(); }
    std::vector<Caption> caption(const torch::Tensor& embeddings) override { return captioner_.caption(embeddings); }

private:
    Gpt2 lm_;
    Gpt2Tokenizer lm_tokenizer_;
    ZeroCapCaptioner captioner_;
};

std::unique_ptr<Captioner> make_zerocap(const CaptionerSetup& s) { return std::make_unique<ZeroCapOnGpt2>(s); }

json zerocap_parameters(const PipelineParams& p) {
    const auto& z = p.zerocap;
    return {{"prompt", z.prompt},
            {"beams", z.beam_size},
            {"max_tokens", z.max_tokens},
            {"iterations", z.iterations},
            {"step", z.step_size},
            {"clip_scale", z.clip_scale},
            {"ce_scale", z.ce_scale},
            {"fusion", z.fusion_factor},
            {"candidates", z.clip_candidates},
            {"temperature", z.clip_temperature},
            {"grad_power", z.grad_norm_power},
            {"end_factor", z.end_factor},
            {"first_end_factor", z.first_step_end_factor},
            {"forbidden_factor", z.forbidden_factor}};
}

std::unique_ptr<Captioner> make_vocab(const CaptionerSetup& s) {
    const fs::path vocab = s.params.vocab.vocab_file.empty() ? bundled_models_dir() / "vocab" / "wordnet-nouns.txt"
                                                             : fs::path(s.params.vocab.vocab_file);
    const fs::path cache = s.cache_dir.empty() ? cache_root() / "vocab" : fs::path(s.cache_dir);
    return std::make_unique<VocabCaptioner>(s.text_encoder, model_fingerprint(s.models.folder(kClipFolder)), vocab,
                                            cache, s.params.vocab.top_k);
}

json vocab_parameters(const PipelineParams& p) { return {{"file", p.vocab.vocab_file}, {"top_k", p.vocab.top_k}}; }

}  // namespace

const std::vector<CaptionerEntry>& captioners() {
    static const std::vector<CaptionerEntry> list = {
        {"zerocap", "cuda", {kGpt2Folder}, make_zerocap, zerocap_parameters},
        {"vocab", "cpu", {}, make_vocab, vocab_parameters},
    };
    return list;
}

std::vector<std::string> captioner_choices() {
    std::vector<std::string> choices = {"auto"};
    for (const auto& c : captioners()) choices.push_back(c.name);
    return choices;
}

const CaptionerEntry& find_captioner(const std::string& requested, bool cuda) {
    for (const auto& c : captioners()) {
        const bool chosen = requested == "auto" ? c.auto_device == (cuda ? "cuda" : "cpu") : c.name == requested;
        if (chosen) return c;
    }
    // "auto, zerocap or vocab"
    const auto choices = captioner_choices();
    std::string list;
    for (size_t i = 0; i < choices.size(); ++i)
        list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
    throw UsageError("--captioner must be " + list + ", not '" + requested + "'");
}

}  // namespace zgseg
