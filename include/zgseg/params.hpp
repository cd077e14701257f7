// zgseg — every tunable of the pipeline, with the defaults of the reference
// preset (the official code's behaviour; see README "Decisions").
//
// The CLI is the only place that parses flags; it fills these structs. Each
// field's comment names its flag.
#pragma once

#include <cstdint>
#include <string>

namespace zgseg {

// Stage 1: DINO keys → Ward tree → pruning → DenseCRF.
struct CandidateParams {
    int dino_size = 224;           // --dino-size: shorter side after the Lanczos resize
    int dino_stride = 2;           // --dino-stride: patch-embedding stride (patch size 8)
    int max_splits = 10;           // --max-splits: top-down Ward splits examined (paper text: 19)
    double prune_threshold = 0.9;  // --prune-threshold: keep a split if cos(children) < this
    bool crf = true;               // --no-crf disables the DenseCRF refinement
    float crf_gaussian_sxy = 1, crf_gaussian_compat = 25;
    float crf_bilateral_sxy = 5, crf_bilateral_srgb = 13, crf_bilateral_compat = 100;
    int crf_iterations = 10;
};

enum class Saliency { Probabilities, Outputs };

// Stage 2: masked-attention CLIP with global subtraction.
struct EmbeddingParams {
    int masked_blocks = 4;             // --mask-from-block N means the last (L - N) blocks; stored as a count
    bool global_subtraction = true;    // --no-global-subtraction: Table 3 ablation
    double sigma2 = 2.5;               // --sigma2: w = exp(-(S+1)^2 / (2 sigma2))
    Saliency saliency = Saliency::Probabilities;  // --saliency probs|outputs
    bool crop_and_mask = false;        // --crop-and-mask: Table 3's first-row baseline
    int segments_per_batch = 0;        // --embed-batch: segments through the masked blocks together (0: 1 on CPU, 16 on CUDA)
};

// Stage 3: ZeroCap (faithful to the reference).
struct ZeroCapParams {
    std::string prompt = "Image of a";  // --zerocap-prompt
    int beam_size = 5;                  // --zerocap-beams
    int max_tokens = 15;                // --zerocap-max-tokens
    int iterations = 5;                 // --zerocap-iterations
    double step_size = 0.3;             // --zerocap-step
    double clip_scale = 1.0;            // --zerocap-clip-scale
    double ce_scale = 0.2;              // --zerocap-ce-scale
    double fusion_factor = 0.99;        // --zerocap-fusion
    int clip_candidates = 512;          // --zerocap-candidates
    double clip_temperature = 0.01;     // --zerocap-temperature
    double grad_norm_power = 0.9;       // --zerocap-grad-power
    double end_factor = 1.1;            // --zerocap-end-factor
    double first_step_end_factor = 1.6; // --zerocap-first-end-factor
    double forbidden_factor = 20;       // --zerocap-forbidden-factor
    int segments_per_batch = 8;         // --zerocap-batch: segments captioned together (exact; memory only)
};

// Stage 3 (fast): vocabulary retrieval by CLIP cosine.
struct VocabParams {
    std::string vocab_file;  // --vocab FILE (empty: the bundled WordNet vocabulary)
    int top_k = 5;           // --vocab-top-k candidates reported
};

// Stage 4: sibling merging.
struct MergeParams {
    double threshold = 0.8;     // --merge-threshold
    double image_weight = 0.5;  // --merge-image-weight (text weight = 1 - this)
    bool enabled = true;        // --no-merge
};

struct PipelineParams {
    CandidateParams candidates;
    EmbeddingParams embedding;
    ZeroCapParams zerocap;
    VocabParams vocab;
    MergeParams merge;
    std::string captioner = "auto";  // --captioner auto|zerocap|vocab
    std::string device = "auto";     // --device auto|cpu|cuda
    std::string precision = "fp32";  // --precision fp32|fp16|bf16 (CUDA only)
    int threads = 0;                 // --threads (0: all cores)
    uint64_t seed = 0;               // --seed
};

}  // namespace zgseg
