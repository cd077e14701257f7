#include "bench/bench.hpp"

#include <torch/torch.h>
// The CUDA caching allocator's statistics through c10's device-allocator
// interface (LibTorch 2.8 and later): no CUDA headers or libraries needed here.
#if __has_include(<c10/core/CachingDeviceAllocator.h>)
#include <c10/core/CachingDeviceAllocator.h>
#define ZGSEG_CUDA_ALLOCATOR_STATS 1
#endif

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <set>

#include "bench/flops.hpp"
#include "bench/machine.hpp"
#include "bench/process_memory.hpp"
#include "cluster/prune.hpp"
#include "cluster/ward.hpp"
#include "core/cache_dir.hpp"
#include "core/log.hpp"
#include "core/model_dir.hpp"
#include "core/sha256.hpp"
#include "core/timing.hpp"
#include "io/image_loader.hpp"
#include "io/outputs.hpp"
#include "io/resample.hpp"
#include "nets/clip.hpp"
#include "nets/device.hpp"
#include "nets/gpt2.hpp"
#include "nets/sentence_encoder.hpp"
#include "nets/vit.hpp"
#include "stages/candidates/candidates.hpp"
#include "stages/captioning/clip_text_encoder.hpp"
#include "stages/captioning/vocab_captioner.hpp"
#include "stages/captioning/zerocap_timing.hpp"
#include "stages/embedding/segment_embedder.hpp"
#include "stages/merging/merge_tree.hpp"
#include "text/clip_tokenizer.hpp"
#include "text/gpt2_tokenizer.hpp"
#include "text/wordpiece_tokenizer.hpp"
#include "zgseg/error.hpp"
#include "zgseg/params.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zgseg::bench {

namespace {

// "Image of a" is 3 GPT-2 tokens: ZeroCap's context at the last step of a
// caption of T tokens is 3 + T − 1 tokens long.
constexpr int64_t kZeroCapPromptTokens = 3;
constexpr int64_t kLabelStrings = 256;  // labels through all-mpnet-base-v2 (eval's label similarity)
constexpr int64_t kClipTextBatch = 256;    // ClipText's default batch size (for the FLOP count)
constexpr int64_t kVocabEncodeChunk = 512; // VocabCaptioner's strings per text-tower call

// A VOC photo of the selftest data: an installed bundle's share/zgseg/selftest,
// else the source tree the binary was built from (tests/data).
fs::path default_image() {
    return bundled_selftest_dir() / "voc-sample" / "JPEGImages" / "2011_000003.jpg";
}

struct TempFolder {
    fs::path path;
    TempFolder() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("zgseg-bench-" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~TempFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// Everything the stages share: the networks (loaded on first use, outside the
// timings) and each stage's outputs, which later stages take as inputs.
struct Context {
    BenchOptions o;
    torch::Device device{torch::kCPU};
    ModelDirectory models{fs::path()};
    TempFolder work;
    json load_seconds = json::object();
    ZeroCapParams zerocap;
    EmbeddingParams embedding_params;
    CandidateParams candidate_params;
    std::vector<std::string> vocabulary;  // the bundled WordNet nouns

    std::unique_ptr<DinoVit> dino_net;
    std::unique_ptr<ClipVision> clip_vision_net;
    std::unique_ptr<ClipText> clip_text_net;
    std::unique_ptr<ClipTokenizer> clip_tokenizer;
    std::unique_ptr<ClipTextEncoder> text_encoder_;
    std::unique_ptr<Gpt2> gpt2_net;
    std::unique_ptr<SentenceEncoder> mpnet_net;

    // image
    LoadedImage image;
    std::vector<uint8_t> work_rgb;
    int work_w = 0, work_h = 0;
    torch::Tensor clip_image;  // (1, 3, S, S)
    // stage 1
    torch::Tensor descriptors;  // (rows·cols, C)
    int grid_rows = 0, grid_cols = 0;
    std::vector<WardMerge> linkage;
    WardStats ward_stats;
    PrunedPartition partition;
    std::vector<int32_t> leaf_map;
    std::vector<int64_t> leaf_heap_ids;
    // stages 2–4
    torch::Tensor masks;       // (N, h, w)
    torch::Tensor embeddings;  // (N, projection)
    fs::path vocab_slice;
    std::unique_ptr<VocabCaptioner> captioner;
    std::vector<Caption> captions;
    MergeOutcome merged;
    // ZeroCap's halves and eval
    std::vector<std::string> clip_texts;
    torch::Tensor gpt2_last;  // (beams, 1)
    PastKeyValues gpt2_past;  // per layer (beams, heads, P, hd)
    std::vector<std::vector<int64_t>> label_ids;
    // ZeroCap itself
    std::unique_ptr<Gpt2Tokenizer> gpt2_tokenizer;
    std::vector<int64_t> forbidden_tokens;
    ZeroCapStepTiming zerocap_timing;  // the last repetition's
    // zerocap_steps_reference's last repetition, which ran `zerocap_reference_iterations`
    // of the `zerocap.iterations` shift iterations per step (1 with --quick).
    ZeroCapStepTiming zerocap_reference_timing;
    int zerocap_reference_iterations = 0;

    template <class Net, class Load>
    Net& load(std::unique_ptr<Net>& slot, const std::string& name, Load&& loader) {
        if (!slot) {
            const auto start = SteadyClock::now();
            slot = std::make_unique<Net>(loader());
            load_seconds[name] = seconds_since(start);
        }
        return *slot;
    }
    DinoVit& dino() {
        return load(dino_net, kDinoFolder, [&] { return DinoVit::load(models.folder(kDinoFolder), device, torch::kFloat32); });
    }
    ClipVision& clip_vision() {
        return load(clip_vision_net, std::string(kClipFolder) + " (vision)",
                    [&] { return ClipVision::load(models.folder(kClipFolder), device, torch::kFloat32); });
    }
    ClipTextEncoder& text_encoder() {
        load(clip_text_net, std::string(kClipFolder) + " (text)",
             [&] { return ClipText::load(models.folder(kClipFolder), device, torch::kFloat32); });
        if (!clip_tokenizer)
            clip_tokenizer = std::make_unique<ClipTokenizer>(models.file(kClipFolder, "vocab.json"), models.file(kClipFolder, "merges.txt"));
        if (!text_encoder_) text_encoder_ = std::make_unique<ClipTextEncoder>(*clip_text_net, *clip_tokenizer);
        return *text_encoder_;
    }
    Gpt2& gpt2() {
        return load(gpt2_net, kGpt2Folder, [&] { return Gpt2::load(models.folder(kGpt2Folder), device, torch::kFloat32); });
    }
    SentenceEncoder& mpnet() {
        return load(mpnet_net, kSbertFolder, [&] { return SentenceEncoder::load(models.folder(kSbertFolder), device, torch::kFloat32); });
    }

    flops::ClipVisionShape clip_shape() {
        auto& c = clip_vision();
        auto json = ModelConfig::load(models.folder(kClipFolder) / "config.json");
        const auto cfg = ClipConfig::from(json);
        return {{c.hidden_size(), cfg.vision.intermediate_size, c.num_blocks(), c.patch_size()}, c.grid_size(),
                c.projection_dim()};
    }
    flops::TextShape clip_text_shape() {
        auto json = ModelConfig::load(models.folder(kClipFolder) / "config.json");
        const auto cfg = ClipConfig::from(json);
        return {cfg.text.hidden_size, cfg.text.intermediate_size, cfg.text.num_layers, cfg.projection_dim};
    }
    std::vector<int64_t> clip_lengths(const std::vector<std::string>& texts) {
        text_encoder();
        std::vector<int64_t> lengths;
        for (const auto& t : texts)
            lengths.push_back(static_cast<int64_t>(
                clip_tokenizer->encode_for_text_tower(t, static_cast<size_t>(clip_text_net->max_length())).ids.size()));
        return lengths;
    }
};

// One row of the report: a stage timed over repetitions.
struct Row {
    std::string name, title;
    bool default_on = true;
    std::vector<std::string> needs;               // rows whose outputs this one reads
    std::function<void(Context&)> prepare;        // once, untimed: load networks, build inputs
    std::function<void(Context&, int)> run;       // one timed repetition (its index)
    std::function<double(Context&)> flops;        // analytic FLOPs of one repetition; 0 = not counted
    std::function<std::string(Context&)> note;
    bool random_sensitive = false;                // its work depends on the weights' values
};

// ---- ZeroCap -------------------------------------------------------------------
void prepare_zerocap(Context& c) {
    c.gpt2();
    c.text_encoder();
    if (!c.gpt2_tokenizer)
        c.gpt2_tokenizer = std::make_unique<Gpt2Tokenizer>(c.models.file(kGpt2Folder, "vocab.json"), c.models.file(kGpt2Folder, "merges.txt"));
    if (c.forbidden_tokens.empty())
        c.forbidden_tokens = read_forbidden_tokens(c.models.file(kGpt2Folder, "zerocap_forbidden_tokens.txt"));
}

ZeroCapStepTiming run_zerocap_steps(Context& c, const ZeroCapParams& params, const ZeroCapSpeedups& speedups) {
    torch::manual_seed(0);
    const auto image = torch::randn({c.clip_text_net->projection_dim()});
    return time_zerocap_steps(c.gpt2(), *c.gpt2_tokenizer, *c.clip_text_net, *c.clip_tokenizer, c.forbidden_tokens,
                              params, speedups, image);
}

// GPT-2 FLOPs of steps 0 and 1 with `iterations` shift iterations each.
double zerocap_gpt2_flops(Context& c, int iterations) {
    const auto& g = c.gpt2().config();
    const flops::Gpt2Shape shape{g.n_embd, g.n_inner, g.n_layer, g.vocab_size};
    return iterations * (flops::gpt2_zerocap_iteration(shape, 1, kZeroCapPromptTokens) +
                         flops::gpt2_zerocap_iteration(shape, c.zerocap.beam_size, kZeroCapPromptTokens + 1));
}

// The real thing: ZeroCap's first two token steps (step 0 has one row, later
// steps one row per beam) with the exact speed-ups on; the note splits the
// time and gives the CLIP-text FLOPs against the reference's way.
Row zerocap_steps_row() {
    return {"zerocap_steps", "ZeroCap: token steps 0 and 1 (the captioner itself, speed-ups on)", true, {},
            prepare_zerocap,
            [](Context& c, int) { c.zerocap_timing = run_zerocap_steps(c, c.zerocap, ZeroCapSpeedups{}); },
            [](Context& c) { return c.zerocap_timing.clip_flops + zerocap_gpt2_flops(c, c.zerocap.iterations); },
            [](Context& c) {
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
            }};
}

// The same two steps the reference's way (ZeroCapSpeedups::reference(): every
// candidate padded to 77, one beam row at a time, one segment at a time, no
// caches), timed for real. With --quick each step runs 1 shift iteration
// instead of 5: in this mode an iteration's work does not depend on the
// candidates, so the derived row zerocap_speedup scales it by the iterations.
Row zerocap_steps_reference_row() {
    return {"zerocap_steps_reference",
            "ZeroCap: token steps 0 and 1 the reference's way (padded to 77, one beam at a time, no caches)",
            false,  // ~35 min on 2 quiet cores: --stages zerocap_steps,zerocap_steps_reference [--quick]
            {},
            prepare_zerocap,
            [](Context& c, int) {
                auto params = c.zerocap;
                if (c.o.quick) params.iterations = std::min(params.iterations, 1);
                c.zerocap_reference_iterations = params.iterations;
                c.zerocap_reference_timing = run_zerocap_steps(c, params, ZeroCapSpeedups::reference());
            },
            [](Context& c) {
                return c.zerocap_reference_timing.clip_flops + zerocap_gpt2_flops(c, c.zerocap_reference_iterations);
            },
            [](Context& c) {
                const auto& t = c.zerocap_reference_timing;
                char buf[320];
                std::snprintf(buf, sizeof buf,
                              "%d of %d shift iterations per step%s; step 0 %.1f s + step 1 %.1f s; GPT-2 %.1f s, "
                              "CLIP text %.1f s; CLIP-text %.2f TFLOP",
                              c.zerocap_reference_iterations, c.zerocap.iterations,
                              c.zerocap_reference_iterations < c.zerocap.iterations ? " (--quick)" : "",
                              t.step0_seconds, t.step1_seconds, t.lm_seconds, t.clip_seconds, t.clip_flops / 1e12);
                return std::string(buf);
            }};
}

std::vector<Row> make_rows() {
    std::vector<Row> rows;

    rows.push_back({"image", "image: decode + Lanczos to shorter side 224 + bicubic 336×336 for CLIP", true, {},
                    [](Context& c) { c.clip_vision(); },
                    [](Context& c, int) {
                        c.image = load_image(c.o.image);
                        const auto& rgb = c.image.rgb;
                        const auto [w, h] = shorter_side_resize(rgb.cols, rgb.rows, c.candidate_params.dino_size);
                        c.work_w = w;
                        c.work_h = h;
                        c.work_rgb = resize_like_pil(rgb.data, rgb.cols, rgb.rows, w, h, ResampleFilter::Lanczos);
                        const auto t = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8);
                        c.clip_image = clip_preprocess(t, c.clip_vision().image_size());
                    },
                    [](Context&) { return 0.0; },
                    [](Context& c) {
                        return std::to_string(c.image.rgb.cols) + "×" + std::to_string(c.image.rgb.rows) + " → " +
                               std::to_string(c.work_w) + "×" + std::to_string(c.work_h);
                    }});

    auto dino_run = [](Context& c, int) {
        torch::NoGradGuard no_grad;
        const CandidateStage stage(c.dino(), c.candidate_params);
        c.descriptors = stage.descriptors(c.work_rgb, c.work_w, c.work_h, &c.grid_rows, &c.grid_cols);
    };
    auto dino_flops = [](Context& c) {
        const auto& v = c.dino().config();
        return flops::dino_keys({v.hidden_size, v.intermediate_size, v.num_layers, v.patch_size}, c.grid_rows, c.grid_cols);
    };
    auto dino_note = [](Context& c) {
        return std::to_string(c.grid_rows) + "×" + std::to_string(c.grid_cols) + " = " +
               std::to_string(c.grid_rows * c.grid_cols) + " tokens";
    };
    rows.push_back({"dino_keys", "stage 1: DINO ViT-S/8 last-block keys", true, {"image"},
                    [](Context& c) { c.dino().set_attention_kernel(AttentionKernel::Fused); }, dino_run, dino_flops,
                    dino_note});

    rows.push_back({"ward", "stage 1: Ward tree over all keys", true, {"dino_keys"}, nullptr,
                    [](Context& c, int) {
                        c.linkage = ward_linkage(c.descriptors.data_ptr<float>(), c.descriptors.size(0),
                                                 c.descriptors.size(1), candidate_ward_options(), &c.ward_stats);
                    },
                    [](Context&) { return 0.0; },
                    [](Context& c) {
                        return std::to_string(c.descriptors.size(0)) + " × " + std::to_string(c.descriptors.size(1)) +
                               ", " + std::to_string(c.ward_stats.full_scans) + " rescans";
                    },
                    true});

    rows.push_back({"prune", "stage 1: top-down cut and cosine pruning", true, {"ward"}, nullptr,
                    [](Context& c, int) {
                        c.partition = prune_tree(c.linkage, c.descriptors.data_ptr<float>(), c.descriptors.size(0),
                                                 c.descriptors.size(1), candidate_prune_params(c.candidate_params));
                    },
                    [](Context&) { return 0.0; },
                    [](Context& c) { return std::to_string(c.partition.leaf_count()) + " leaves"; }, true});

    rows.push_back(
        {"crf", "stage 1: DenseCRF on the resized image", true, {"prune"}, nullptr,
         [](Context& c, int) {
             // As CandidateStage::run: the CRF over the leaves, then the leaves it emptied are dropped.
             std::vector<int32_t> labels(static_cast<size_t>(c.work_w) * c.work_h, 0);
             if (c.partition.leaf_count() > 1)
                 labels = crf_leaf_labels(c.descriptors, c.grid_rows, c.grid_cols, c.partition, c.work_rgb, c.work_w,
                                          c.work_h, c.candidate_params);
             auto kept = drop_empty_leaves(labels, c.partition.leaf_heap_ids);
             c.leaf_map = std::move(kept.leaf_map);
             c.leaf_heap_ids = std::move(kept.leaf_heap_ids);
         },
         [](Context&) { return 0.0; },
         [](Context& c) {
             return std::to_string(c.partition.leaf_count()) + " labels, " + std::to_string(c.work_w) + "×" +
                    std::to_string(c.work_h) + ", " + std::to_string(c.candidate_params.crf_iterations) + " iterations";
         },
         true});

    rows.push_back({"vocab_cache", "stage 3 set-up: vocabulary cache build (a slice; see the extrapolated row)", true, {},
                    [](Context& c) {
                        c.text_encoder();
                        const size_t n = std::min(c.vocabulary.size(), static_cast<size_t>(c.o.vocab_entries));
                        c.vocab_slice = c.work.path / "vocab-slice.txt";
                        std::ofstream out(c.vocab_slice);
                        for (size_t i = 0; i < n; ++i) out << c.vocabulary[i] << "\n";
                    },
                    [](Context& c, int rep) {
                        // A fresh cache folder each time, so every repetition builds it.
                        c.captioner = std::make_unique<VocabCaptioner>(
                            c.text_encoder(), model_fingerprint(c.models.folder(kClipFolder)), c.vocab_slice,
                            c.work.path / ("vocab-cache-" + std::to_string(rep)), 5);
                    },
                    [](Context& c) {
                        std::vector<std::string> texts;
                        for (const auto& v : read_vocabulary(c.vocab_slice)) texts.push_back(prompted(v));
                        const auto lengths = c.clip_lengths(texts);
                        double total = 0;
                        for (size_t b = 0; b < lengths.size(); b += kVocabEncodeChunk) {
                            const size_t e = std::min(lengths.size(), b + kVocabEncodeChunk);
                            total += flops::clip_text(c.clip_text_shape(),
                                                      std::vector<int64_t>(lengths.begin() + static_cast<std::ptrdiff_t>(b),
                                                                           lengths.begin() + static_cast<std::ptrdiff_t>(e)),
                                                      kClipTextBatch);
                        }
                        return total;
                    },
                    [](Context& c) {
                        return std::to_string(read_vocabulary(c.vocab_slice).size()) + " of " +
                               std::to_string(c.vocabulary.size()) + " entries";
                    }});

    auto make_masks = [](Context& c) {
        // N vertical stripes of growing width at the working resolution: the
        // cost of stage 2 does not depend on the masks' shapes.
        const int64_t n = c.o.nodes;
        c.masks = torch::zeros({n, c.work_h, c.work_w});
        for (int64_t i = 0; i < n; ++i) c.masks[i].slice(1, 0, std::max<int64_t>(1, c.work_w * (i + 1) / n)) = 1;
    };
    rows.push_back({"embedding", "stage 2: CLIP-L masked attention, shared blocks once + the last blocks per node",
                    true, {"image"}, make_masks,
                    [](Context& c, int) {
                        SegmentEmbedder embedder(c.clip_vision(), c.embedding_params);
                        embedder.set_image(c.clip_image);
                        c.embeddings = embedder.embed(c.masks);
                    },
                    [](Context& c) { return flops::segment_embedding(c.clip_shape(), c.embedding_params.masked_blocks, c.o.nodes); },
                    [](Context& c) {
                        return std::to_string(c.o.nodes) + " nodes (fixed), last " +
                               std::to_string(c.embedding_params.masked_blocks) + " of " +
                               std::to_string(c.clip_vision().num_blocks()) + " blocks per node, " +
                               (c.embedding_params.segments_per_batch > 0
                                    ? std::to_string(c.embedding_params.segments_per_batch) +
                                          (c.embedding_params.segments_per_batch == 1 ? " node" : " nodes") + " a batch"
                                    : std::string("default node batch (1 on CPU, 16 on CUDA)"));
                    }});

    rows.push_back({"embedding_unshared", "stage 2 the reference's way: one full CLIP-L forward per node", false,
                    {"image"}, make_masks,
                    [](Context& c, int) {
                        SegmentEmbedder embedder(c.clip_vision(), c.embedding_params);
                        c.embeddings = embedder.embed_unshared(c.clip_image, c.masks);
                    },
                    [](Context& c) { return flops::segment_embedding_unshared(c.clip_shape(), c.o.nodes); },
                    [](Context& c) { return std::to_string(c.o.nodes) + " nodes (fixed)"; }});

    rows.push_back({"caption", "stage 3: vocabulary captioner (cosine top-k against the cache)", true,
                    {"embedding", "vocab_cache"}, nullptr,
                    [](Context& c, int) { c.captions = c.captioner->caption(c.embeddings); },
                    [](Context& c) {
                        return 2.0 * c.o.nodes * static_cast<double>(c.embeddings.size(1)) *
                               static_cast<double>(c.captioner->vocabulary().size());
                    },
                    [](Context& c) {
                        return std::to_string(c.o.nodes) + " nodes against " +
                               std::to_string(c.captioner->vocabulary().size()) + " entries";
                    }});

    rows.push_back({"merging", "stage 4: merging up the tree (features precomputed)", true,
                    {"crf", "embedding", "caption"}, nullptr,
                    [](Context& c, int) {
                        // Stages 2 and 3 are timed in their own rows: here each node takes
                        // the next precomputed embedding and caption.
                        size_t next = 0;
                        auto features = [&](const std::vector<std::vector<int32_t>>& sets) {
                            std::vector<std::pair<std::vector<float>, Caption>> out;
                            for (size_t i = 0; i < sets.size(); ++i, ++next) {
                                const int64_t row = static_cast<int64_t>(next % c.captions.size());
                                const auto e = c.embeddings[row].to(torch::kCPU, torch::kFloat32).contiguous();
                                out.push_back({std::vector<float>(e.data_ptr<float>(), e.data_ptr<float>() + e.numel()),
                                               c.captions[static_cast<size_t>(row)]});
                            }
                            return out;
                        };
                        c.merged = merge_tree(c.leaf_heap_ids, features, MergeParams{});
                    },
                    [](Context&) { return 0.0; },
                    [](Context& c) {
                        return std::to_string(c.leaf_heap_ids.size()) + " leaves, " +
                               std::to_string(c.merged.feature_calls - static_cast<int>(c.leaf_heap_ids.size())) +
                               " merges accepted";
                    },
                    true});

    rows.push_back({"outputs", "outputs: label PNG, JSON, embeddings, overlay JPEG", true, {"merging"}, nullptr,
                    [](Context& c, int) {
                        PipelineResult r;
                        r.width = c.image.original_size.width;
                        r.height = c.image.original_size.height;
                        r.work_width = c.work_w;
                        r.work_height = c.work_h;
                        r.nodes = c.merged.nodes;
                        r.captioner = "vocab";
                        r.device = c.device.is_cuda() ? "cuda" : "cpu";
                        std::vector<int32_t> segment_of_leaf(c.leaf_heap_ids.size(), 0);
                        for (const auto& node : r.nodes)
                            if (node.final)
                                for (int32_t leaf : node.leaves) segment_of_leaf[leaf] = node.segment_id;
                        r.leaf_map = c.leaf_map;
                        r.label_map.resize(r.leaf_map.size());
                        for (size_t i = 0; i < r.leaf_map.size(); ++i) r.label_map[i] = segment_of_leaf[r.leaf_map[i]];
                        OutputContext ctx;
                        ctx.input_path = c.o.image;
                        ctx.input_sha256 = sha256_file(c.o.image);
                        ctx.input_format = format_name(c.image.format);
                        ctx.models = {{"folder", c.models.root().string()}};
                        ctx.parameters = {{"bench", true}};
                        ctx.overwrite = true;
                        const fs::path out = c.work.path / "outputs";
                        fs::create_directories(out);
                        write_outputs(out / fs::path(c.o.image).stem(), r, c.image.rgb, ctx);
                    },
                    [](Context&) { return 0.0; },
                    [](Context& c) {
                        return std::to_string(std::count_if(c.merged.nodes.begin(), c.merged.nodes.end(),
                                                            [](const Node& n) { return n.final; })) +
                               " final segment(s) at " + std::to_string(c.image.original_size.width) + "×" +
                               std::to_string(c.image.original_size.height);
                    },
                    true});

    rows.push_back({"clip_image", "one standard CLIP-L image forward (for reference)", false, {"image"}, nullptr,
                    [](Context& c, int) {
                        torch::NoGradGuard no_grad;
                        c.clip_vision().image_embedding(c.clip_image);
                    },
                    [](Context& c) { return flops::clip_image(c.clip_shape()); }, [](Context&) { return std::string(); }});

    rows.push_back({"dino_keys_chunked", "stage 1: DINO keys with the plain chunked attention (for reference)", false,
                    {"image"}, [](Context& c) { c.dino().set_attention_kernel(AttentionKernel::Chunked); },
                    [dino_run](Context& c, int rep) {
                        dino_run(c, rep);
                        c.dino().set_attention_kernel(AttentionKernel::Fused);
                    },
                    dino_flops, dino_note});

    rows.push_back({"clip_text", "ZeroCap half: CLIP-L text tower on beams × candidates strings", true, {},
                    [](Context& c) {
                        c.text_encoder();
                        c.clip_texts.clear();
                        for (int i = 0; i < c.o.clip_texts; ++i) {
                            const auto& v = c.vocabulary[static_cast<size_t>(i) % c.vocabulary.size()];
                            const bool repeat = static_cast<size_t>(i) >= c.vocabulary.size();
                            c.clip_texts.push_back(prompted(repeat ? v + " " + std::to_string(i) : v));
                        }
                    },
                    [](Context& c, int) { c.text_encoder().encode(c.clip_texts); },
                    [](Context& c) { return flops::clip_text(c.clip_text_shape(), c.clip_lengths(c.clip_texts), kClipTextBatch); },
                    [](Context& c) {
                        const auto lengths = c.clip_lengths(c.clip_texts);
                        double mean = 0;
                        for (auto l : lengths) mean += static_cast<double>(l);
                        char buf[96];
                        std::snprintf(buf, sizeof buf, "%zu strings, %.1f tokens on average", lengths.size(),
                                      mean / std::max<size_t>(1, lengths.size()));
                        return std::string(buf);
                    }});

    rows.push_back({"gpt2_iteration",
                    "ZeroCap half: GPT-2 medium forward + backward to the past keys/values, one new token per beam",
                    true, {},
                    [](Context& c) {
                        auto& g = c.gpt2();
                        torch::manual_seed(1);
                        const int64_t beams = c.zerocap.beam_size;
                        const int64_t past = kZeroCapPromptTokens + c.o.caption_tokens - 1;
                        const int64_t vocab = g.config().vocab_size;
                        const auto context = torch::randint(0, vocab, {beams, past}, torch::kLong).to(c.device);
                        c.gpt2_last = torch::randint(0, vocab, {beams, 1}, torch::kLong).to(c.device);
                        torch::NoGradGuard no_grad;
                        c.gpt2_past = g.forward(context).presents;
                    },
                    [](Context& c, int) {
                        // ZeroCap's iteration: shift the cached keys/values by
                        // trainable deltas, score the next token, backpropagate.
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
                    },
                    [](Context& c) {
                        const auto& g = c.gpt2().config();
                        return flops::gpt2_zerocap_iteration({g.n_embd, g.n_inner, g.n_layer, g.vocab_size},
                                                             c.zerocap.beam_size,
                                                             kZeroCapPromptTokens + c.o.caption_tokens - 1);
                    },
                    [](Context& c) {
                        return std::to_string(c.zerocap.beam_size) + " beams, past " +
                               std::to_string(kZeroCapPromptTokens + c.o.caption_tokens - 1) + " tokens";
                    }});

    rows.push_back({"mpnet", "eval: all-mpnet-base-v2 on label strings", true, {},
                    [](Context& c) {
                        c.mpnet();
                        const auto tokenizer = WordPieceTokenizer::from_folder(c.models.folder(kSbertFolder));
                        c.label_ids.clear();
                        for (int64_t i = 0; i < kLabelStrings; ++i) {
                            const auto ids = tokenizer.encode_truncated(c.vocabulary[static_cast<size_t>(i) % c.vocabulary.size()]);
                            c.label_ids.emplace_back(ids.begin(), ids.end());
                        }
                    },
                    [](Context& c, int) { c.mpnet().encode(c.label_ids); },
                    [](Context& c) {
                        int64_t longest = 0;
                        for (const auto& s : c.label_ids) longest = std::max<int64_t>(longest, static_cast<int64_t>(s.size()));
                        const auto cfg = ModelConfig::load(c.models.folder(kSbertFolder) / "config.json").json();
                        return flops::sentence_encoder({cfg.value("hidden_size", int64_t{0}),
                                                        cfg.value("intermediate_size", int64_t{0}),
                                                        cfg.value("num_hidden_layers", int64_t{0}), 0},
                                                       static_cast<int64_t>(c.label_ids.size()), longest);
                    },
                    [](Context& c) { return std::to_string(c.label_ids.size()) + " labels, padded to the longest"; }});

    rows.push_back(zerocap_steps_row());
    rows.push_back(zerocap_steps_reference_row());
    return rows;
}

// The networks a stage loads.
std::vector<std::string> networks_of(const std::string& row) {
    if (row == "dino_keys" || row == "dino_keys_chunked") return {kDinoFolder};
    if (row == "gpt2_iteration") return {kGpt2Folder};
    if (row == "zerocap_steps" || row == "zerocap_steps_reference") return {kGpt2Folder, kClipFolder};
    if (row == "mpnet") return {kSbertFolder};
    if (row == "ward" || row == "prune" || row == "crf" || row == "merging" || row == "outputs") return {};
    return {kClipFolder};  // image (CLIP's input size), stages 2 and 3, the text tower
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void synchronize(const Context& c) {
    if (c.device.is_cuda()) torch::cuda::synchronize();
}

c10::DeviceIndex cuda_index(const Context& c) { return c.device.has_index() ? c.device.index() : 0; }

void reset_cuda_peak(const Context& c) {
#ifdef ZGSEG_CUDA_ALLOCATOR_STATS
    if (c.device.is_cuda()) c10::getDeviceAllocator(c10::DeviceType::CUDA)->resetPeakStats(cuda_index(c));
#else
    (void)c;
#endif
}

// Peak bytes allocated on the GPU since the last reset_cuda_peak; -1 when not on CUDA or unknown.
double cuda_peak_bytes(const Context& c) {
#ifdef ZGSEG_CUDA_ALLOCATOR_STATS
    if (c.device.is_cuda()) {
        const auto stats = c10::getDeviceAllocator(c10::DeviceType::CUDA)->getDeviceStats(cuda_index(c));
        return static_cast<double>(
            stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak);
    }
#else
    (void)c;
#endif
    return -1;
}

json time_row(Context& c, const Row& row) {
    std::vector<double> seconds;
    double peak = 0, growth = 0, used = 0, cuda_peak = -1;
    bool peak_is_per_stage = true;
    const int reps = std::max(1, c.o.repeat);
    for (int rep = 0; rep < reps && (rep == 0 || used < c.o.max_stage_seconds); ++rep) {
        synchronize(c);
        peak_is_per_stage = reset_peak_rss() && peak_is_per_stage;
        reset_cuda_peak(c);
        const double before = static_cast<double>(current_rss_bytes());
        const auto start = SteadyClock::now();
        row.run(c, rep);
        synchronize(c);
        const double s = seconds_since(start);
        const double high = static_cast<double>(peak_rss_bytes());
        seconds.push_back(s);
        used += s;
        peak = std::max(peak, high);
        // The last repetition's: the first one also pages in the memory-mapped weights it reads.
        growth = high - before;
        cuda_peak = std::max(cuda_peak, cuda_peak_bytes(c));
        char buf[128];
        std::snprintf(buf, sizeof buf, "bench: %s %d/%d: %.3f s", row.name.c_str(), rep + 1, reps, s);
        log::info(buf);
    }
    const double flop = row.flops(c);
    const double best = *std::min_element(seconds.begin(), seconds.end());
    json j = {{"name", row.name},
              {"title", row.title},
              {"kind", "timed"},
              {"reps", seconds.size()},
              {"seconds", seconds},
              {"min_s", best},
              {"median_s", median(seconds)},
              {"gflop", flop > 0 ? json(flop / 1e9) : json(nullptr)},
              {"gflops_per_s", flop > 0 && best > 0 ? json(flop / 1e9 / best) : json(nullptr)},
              {"peak_rss_mib", peak / 1048576.0},
              {"rss_growth_mib", peak_is_per_stage ? json(growth / 1048576.0) : json(nullptr)},
              {"cuda_peak_mib", cuda_peak >= 0 ? json(cuda_peak / 1048576.0) : json(nullptr)},
              {"note", row.note(c)},
              {"random_sensitive", row.random_sensitive}};
    return j;
}

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

// Rows computed from timed ones, each labelled "extrapolated".
void add_derived_rows(const Context& c, json& rows) {
    char buf[400];
    if (const auto cache = find_row(rows, "vocab_cache")) {
        const double entries = static_cast<double>(std::min(c.vocabulary.size(), static_cast<size_t>(c.o.vocab_entries)));
        const double scale = static_cast<double>(c.vocabulary.size()) / entries;
        std::snprintf(buf, sizeof buf, "vocab_cache × %.1f (%zu / %.0f entries); once per model and vocabulary",
                      scale, c.vocabulary.size(), entries);
        rows.push_back(derived("vocab_cache_full", "stage 3 set-up: the full vocabulary cache build",
                               (*cache)["min_s"].get<double>() * scale, (*cache)["median_s"].get<double>() * scale,
                               gflop_or_zero(*cache) * scale, buf));
    }
    const auto gpt2 = find_row(rows, "gpt2_iteration");
    const auto text = find_row(rows, "clip_text");
    std::optional<json> step;
    if (const auto steps = find_row(rows, "zerocap_steps")) {
        // Timed: a later step is step 1's share of the two steps' time.
        const auto& t = c.zerocap_timing;
        const double share = t.step1_seconds / std::max(t.step0_seconds + t.step1_seconds, 1e-9);
        std::snprintf(buf, sizeof buf, "step 1's share (%.2f) of zerocap_steps: one token step with %d beam rows",
                      share, c.zerocap.beam_size);
        rows.push_back(derived("zerocap_token_step", "ZeroCap: one token step (5 iterations, beam rows)",
                               (*steps)["min_s"].get<double>() * share, (*steps)["median_s"].get<double>() * share, 0,
                               buf));
        step = rows.back();
    } else if (gpt2 && text) {
        // One token step = `iterations` × (GPT-2 iteration + CLIP text on beams × candidates strings).
        const double strings = static_cast<double>(c.zerocap.beam_size) * c.zerocap.clip_candidates;
        const double text_scale = strings / c.o.clip_texts;
        const double it = c.zerocap.iterations;
        auto combine = [&](const char* key) {
            return it * ((*gpt2)[key].get<double>() + (*text)[key].get<double>() * text_scale);
        };
        std::snprintf(buf, sizeof buf, "%d iterations × (gpt2_iteration + clip_text × %.2f), without the step's 3 no-grad GPT-2 passes",
                      c.zerocap.iterations, text_scale);
        char title[128];
        std::snprintf(title, sizeof title, "ZeroCap: one token step (%d beams × %d candidates)", c.zerocap.beam_size,
                      c.zerocap.clip_candidates);
        rows.push_back(derived("zerocap_token_step", title, combine("min_s"), combine("median_s"),
                               it * (gflop_or_zero(*gpt2) + gflop_or_zero(*text) * text_scale), buf));
        step = rows.back();
    }
    const auto reference = find_row(rows, "zerocap_steps_reference");
    if (const auto steps = find_row(rows, "zerocap_steps"); steps && reference && c.zerocap_reference_iterations > 0) {
        // Side by side: the reference's way (scaled to all iterations when --quick timed fewer) against ours.
        const double scale = static_cast<double>(c.zerocap.iterations) / c.zerocap_reference_iterations;
        const double ref_s = (*reference)["min_s"].get<double>() * scale, ours = (*steps)["min_s"].get<double>();
        const double ref_flops = c.zerocap_reference_timing.clip_flops * scale;
        const auto& t = c.zerocap_timing;
        std::snprintf(buf, sizeof buf,
                      "the reference's way %.1f s%s / zerocap_steps %.1f s: %.1fx faster; CLIP-text FLOPs %.1fx fewer; "
                      "step-cache hit rate %.1f%%",
                      ref_s, scale > 1 ? " (1 iteration timed per step, x iterations)" : " (timed)", ours,
                      ref_s / std::max(ours, 1e-9), ref_flops / std::max(t.clip_flops, 1.0),
                      100.0 * static_cast<double>(t.cache_hits) / std::max<double>(1, static_cast<double>(t.strings)));
        rows.push_back(derived("zerocap_speedup", "ZeroCap steps 0 and 1: the reference's way / the captioner's",
                               ref_s, (*reference)["median_s"].get<double>() * scale, 0, buf));
    }
    if (const auto steps = find_row(rows, "zerocap_steps")) {
        // Step 0 (one row) + (tokens − 1) later steps; a later step's context is
        // a few tokens longer than step 1's, which this leaves out.
        const auto& t = c.zerocap_timing;
        const double share = t.step1_seconds / std::max(t.step0_seconds + t.step1_seconds, 1e-9);
        const double scale = (1 - share) + (c.o.caption_tokens - 1) * share;
        std::snprintf(buf, sizeof buf, "zerocap_steps × %.2f = step 0 + %d × step 1 (fixed caption length)", scale,
                      c.o.caption_tokens - 1);
        rows.push_back(derived("zerocap_caption", "ZeroCap: one segment's caption", (*steps)["min_s"].get<double>() * scale,
                               (*steps)["median_s"].get<double>() * scale, 0, buf));
    } else if (step) {
        const double t = c.o.caption_tokens;
        std::snprintf(buf, sizeof buf, "zerocap_token_step × %d tokens (fixed caption length)", c.o.caption_tokens);
        rows.push_back(derived("zerocap_caption", "ZeroCap: one segment's caption", (*step)["min_s"].get<double>() * t,
                               (*step)["median_s"].get<double>() * t, gflop_or_zero(*step) * t, buf));
    }
    // A whole image, as the sum of its stages (the model loading and the vocabulary cache excluded).
    const std::vector<std::string> parts = {"image", "dino_keys", "ward",    "prune",  "crf",
                                            "embedding", "caption", "merging", "outputs"};
    double min_sum = 0, median_sum = 0, flop_sum = 0;
    bool all = true;
    for (const auto& p : parts) {
        const auto r = find_row(rows, p);
        if (!r) {
            all = false;
            break;
        }
        min_sum += (*r)["min_s"].get<double>();
        median_sum += (*r)["median_s"].get<double>();
        flop_sum += gflop_or_zero(*r);
    }
    if (!all) return;
    std::snprintf(buf, sizeof buf, "sum of image … outputs, %d nodes", c.o.nodes);
    rows.push_back(derived("image_total_vocab", "one image with the vocabulary captioner", min_sum, median_sum, flop_sum, buf));
    const auto caption = find_row(rows, "zerocap_caption");
    const auto vocab = find_row(rows, "caption");
    if (caption && vocab) {
        const double n = c.o.nodes;
        std::snprintf(buf, sizeof buf, "image_total_vocab − caption + %d × zerocap_caption", c.o.nodes);
        rows.push_back(derived("image_total_zerocap", "one image with ZeroCap",
                               min_sum - (*vocab)["min_s"].get<double>() + n * (*caption)["min_s"].get<double>(),
                               median_sum - (*vocab)["median_s"].get<double>() + n * (*caption)["median_s"].get<double>(),
                               flop_sum - gflop_or_zero(*vocab) + n * gflop_or_zero(*caption), buf));
    }
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

}  // namespace

std::vector<StageInfo> stage_list() {
    std::vector<StageInfo> out;
    for (const auto& r : make_rows()) out.push_back({r.name, r.title, r.default_on});
    return out;
}

json run_bench(const BenchOptions& options) {
    const auto rows = make_rows();
    // Which rows are timed, and which run once untimed because a timed one reads their outputs.
    std::set<std::string> selected, needed;
    for (const auto& name : options.stages) {
        if (std::none_of(rows.begin(), rows.end(), [&](const Row& r) { return r.name == name; })) {
            std::string names;
            for (const auto& r : rows) names += (names.empty() ? "" : ", ") + r.name;
            throw UsageError("--stages: unknown stage '" + name + "' (stages: " + names + ")");
        }
        selected.insert(name);
    }
    if (selected.empty())
        for (const auto& r : rows)
            if (r.default_on) selected.insert(r.name);
    for (auto it = rows.rbegin(); it != rows.rend(); ++it)
        if (selected.count(it->name) || needed.count(it->name))
            for (const auto& n : it->needs) needed.insert(n);

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

    json models = json::object();
    if (options.models.empty()) {
        const fs::path root = (options.cache_dir.empty() ? cache_root() / "bench-models" : fs::path(options.cache_dir)) /
                              (options.model_size == ModelSize::Full ? "full" : "tiny");
        const auto start = SteadyClock::now();
        const auto created = ensure_random_models(root, options.model_size);
        models = {{"random_weights", true}, {"size", options.model_size == ModelSize::Full ? "full" : "tiny"},
                  {"created", created}, {"create_seconds", seconds_since(start)}};
        c.models = ModelDirectory(root);
    } else {
        c.models = ModelDirectory::resolve(options.models);
        models = {{"random_weights", false}};
    }
    models["folder"] = c.models.root().string();
    // Every network the stages to run load, checked up front: one message listing every missing file.
    std::set<std::string> networks;
    for (const auto& row : rows)
        if (selected.count(row.name) || needed.count(row.name))
            for (const auto& n : networks_of(row.name)) networks.insert(n);
    c.models.require({networks.begin(), networks.end()});

    json timed = json::array();
    for (const auto& row : rows) {
        const bool is_selected = selected.count(row.name) > 0;
        if (!is_selected && !needed.count(row.name)) continue;
        if (row.prepare) row.prepare(c);
        if (is_selected) {
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
                          {"dino_stride", options.dino_stride}, {"embed_batch", options.embed_batch}, {"zerocap_beams", c.zerocap.beam_size},
                          {"zerocap_iterations", c.zerocap.iterations},
                          {"zerocap_candidates", c.zerocap.clip_candidates}, {"precision", "fp32"}};
    report["rows"] = timed;
    report["random_weights"] = models["random_weights"].get<bool>() ? random_weight_notes(c) : json::array();
    double process_peak = 0;
    for (const auto& r : timed)
        if (r["peak_rss_mib"].is_number()) process_peak = std::max(process_peak, r["peak_rss_mib"].get<double>());
    report["peak_rss_mib"] = process_peak;
    json cuda_peak = nullptr;  // the largest stage peak on the GPU
    for (const auto& r : timed)
        if (r["cuda_peak_mib"].is_number())
            cuda_peak = std::max(cuda_peak.is_number() ? cuda_peak.get<double>() : 0.0, r["cuda_peak_mib"].get<double>());
    report["cuda_peak_mib"] = cuda_peak;
    report["load_average_end"] = load_average();
    return report;
}

}  // namespace zgseg::bench
