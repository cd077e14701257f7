#include "cli/pipeline_options.hpp"

#include "stages/captioning/captioners.hpp"

namespace zgseg::cli {

void add_pipeline_options(CLI::App* cmd, PipelineParams& p, std::string& preset) {
    cmd->add_option("--preset", preset,
                    "paper: the reference code's settings; fast: cheaper stage 1 (stride 4, no CRF)")
        ->check(CLI::IsMember({"paper", "fast"}));
    cmd->add_option("--captioner", p.captioner,
                    "auto: ZeroCap on CUDA, vocabulary retrieval on CPU")
        ->check(CLI::IsMember(captioner_choices()));
    cmd->add_option("--precision", p.precision, "Network precision (fp16/bf16 only on CUDA)")
        ->check(CLI::IsMember({"fp32", "fp16", "bf16"}));
    cmd->add_option("--seed", p.seed, "Random seed (the pipeline is deterministic for a given seed)");

    auto& c = p.candidates;
    const char* s1 = "Stage 1: candidates";
    cmd->add_option("--dino-size", c.dino_size, "Shorter image side fed to DINO")->check(CLI::Range(32, 1024))->group(s1);
    cmd->add_option("--dino-stride", c.dino_stride, "DINO patch-embedding stride (1..8)")->check(CLI::Range(1, 8))->group(s1);
    cmd->add_option("--max-splits", c.max_splits, "Top-down Ward splits examined")->check(CLI::Range(1, 255))->group(s1);
    cmd->add_option("--prune-threshold", c.prune_threshold, "Keep a split when the cosine of its children is below this")
        ->check(CLI::Range(-1.0, 1.0))->group(s1);
    cmd->add_flag("!--no-crf", c.crf, "Skip the DenseCRF refinement")->group(s1);
    cmd->add_option("--crf-iterations", c.crf_iterations, "DenseCRF mean-field iterations")->check(CLI::Range(0, 100))->group(s1);

    auto& e = p.embedding;
    const char* s2 = "Stage 2: embedding";
    cmd->add_option("--masked-blocks", e.masked_blocks, "Masked attention in the last N CLIP vision blocks")
        ->check(CLI::Range(1, 64))->group(s2);
    cmd->add_flag("!--no-global-subtraction", e.global_subtraction, "Ablation: masked attention only")->group(s2);
    cmd->add_option("--sigma2", e.sigma2, "sigma^2 of the global-subtraction weight")->check(CLI::PositiveNumber)->group(s2);
    cmd->add_option("--saliency", e.saliency,
                    "probs: cosine of attention-probability rows (code); outputs: of attention outputs (paper text)")
        ->transform(CLI::CheckedTransformer(std::map<std::string, Saliency>{{"probs", Saliency::Probabilities},
                                                                           {"outputs", Saliency::Outputs}}))
        ->group(s2);
    cmd->add_flag("--crop-and-mask", e.crop_and_mask, "Baseline: crop and mask the image instead of masked attention")->group(s2);
    cmd->add_option("--embed-batch", e.segments_per_batch,
                    "Segments through the masked blocks together (0: 1 on CPU, 16 on CUDA; same embeddings, memory and speed only)")
        ->check(CLI::Range(0, 256))->group(s2);

    auto& z = p.zerocap;
    const char* s3 = "Stage 3: ZeroCap";
    cmd->add_option("--zerocap-prompt", z.prompt, "Caption prefix")->group(s3);
    cmd->add_option("--zerocap-beams", z.beam_size, "Beam size")->check(CLI::Range(1, 64))->group(s3);
    cmd->add_option("--zerocap-max-tokens", z.max_tokens, "Maximum caption tokens")->check(CLI::Range(1, 64))->group(s3);
    cmd->add_option("--zerocap-iterations", z.iterations, "Context-shift iterations per token")->check(CLI::Range(0, 100))->group(s3);
    cmd->add_option("--zerocap-step", z.step_size, "Context-shift step size")->check(CLI::NonNegativeNumber)->group(s3);
    cmd->add_option("--zerocap-clip-scale", z.clip_scale, "Weight of the CLIP loss")->group(s3);
    cmd->add_option("--zerocap-ce-scale", z.ce_scale, "Weight of the fluency (KL) loss")->group(s3);
    cmd->add_option("--zerocap-fusion", z.fusion_factor, "p^f * p0^(1-f) fusion factor")->check(CLI::Range(0.0, 1.0))->group(s3);
    cmd->add_option("--zerocap-candidates", z.clip_candidates, "Top tokens scored by CLIP per step")->check(CLI::Range(1, 50257))->group(s3);
    cmd->add_option("--zerocap-temperature", z.clip_temperature, "CLIP target softmax temperature")->check(CLI::PositiveNumber)->group(s3);
    cmd->add_option("--zerocap-grad-power", z.grad_norm_power, "Gradient normalisation power")->group(s3);
    cmd->add_option("--zerocap-end-factor", z.end_factor, "End-token ('.') factor after the first step")->check(CLI::PositiveNumber)->group(s3);
    cmd->add_option("--zerocap-first-end-factor", z.first_step_end_factor, "End-token damping at the first step")->check(CLI::PositiveNumber)->group(s3);
    cmd->add_option("--zerocap-forbidden-factor", z.forbidden_factor, "Damping of the forbidden tokens")->check(CLI::PositiveNumber)->group(s3);
    cmd->add_option("--zerocap-batch", z.segments_per_batch,
                    "Segments captioned together in one batch (same captions; more memory, faster)")
        ->check(CLI::Range(1, 256))->group(s3);

    const char* s3b = "Stage 3: vocabulary captioner";
    cmd->add_option("--vocab", p.vocab.vocab_file, "Vocabulary file, one entry a line (default: bundled WordNet nouns)")->group(s3b);
    cmd->add_option("--vocab-top-k", p.vocab.top_k, "Candidates reported per segment")->check(CLI::Range(1, 100))->group(s3b);

    auto& m = p.merge;
    const char* s4 = "Stage 4: merging";
    cmd->add_option("--merge-threshold", m.threshold, "Merge siblings when their similarity is at least this")
        ->check(CLI::Range(-1.0, 1.0))->group(s4);
    cmd->add_option("--merge-image-weight", m.image_weight, "Weight of the image cosine (text: 1 - this)")
        ->check(CLI::Range(0.0, 1.0))->group(s4);
    cmd->add_flag("!--no-merge", m.enabled, "Report the leaves without merging")->group(s4);
}

void apply_preset(CLI::App* cmd, PipelineParams& p, const std::string& preset) {
    if (preset != "fast") return;
    // Cheaper stage 1: a quarter of the DINO tokens and no CRF. Flags given
    // explicitly keep their values.
    if (cmd->count("--dino-stride") == 0) p.candidates.dino_stride = 4;
    if (cmd->count("--no-crf") == 0) p.candidates.crf = false;
}

}  // namespace zgseg::cli
