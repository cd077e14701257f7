// The Pipeline: stages 1–4 over one image, networks loaded once.
#include "zgseg/pipeline.hpp"

#include <torch/torch.h>

#include "core/log.hpp"
#include "core/model_dir.hpp"
#include "core/timing.hpp"
#include "io/resample.hpp"
#include "nets/clip.hpp"
#include "nets/device.hpp"
#include "nets/vit.hpp"
#include "stages/candidates/candidates.hpp"
#include "stages/captioning/captioner.hpp"
#include "stages/captioning/captioners.hpp"
#include "stages/captioning/clip_text_encoder.hpp"
#include "stages/embedding/segment_embedder.hpp"
#include "stages/merging/merge_tree.hpp"
#include "text/clip_tokenizer.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

namespace {

torch::ScalarType choose_dtype(const std::string& precision, torch::Device device) {
    if (precision == "fp32") return torch::kFloat32;
    if (!device.is_cuda()) throw UsageError("--precision " + precision + " needs --device cuda (CPU runs in fp32)");
    return precision == "fp16" ? torch::kFloat16 : torch::kBFloat16;
}

std::vector<float> to_vector(const torch::Tensor& row) {
    const auto t = row.to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
}

}  // namespace

struct Pipeline::Impl {
    PipelineParams params;
    torch::Device device = torch::kCPU;
    torch::ScalarType dtype = torch::kFloat32;
    std::unique_ptr<DinoVit> dino;
    std::unique_ptr<ClipVision> clip_vision;
    std::unique_ptr<ClipText> clip_text;
    std::unique_ptr<ClipTokenizer> clip_tokenizer;
    std::unique_ptr<ClipTextEncoder> text_encoder;
    std::unique_ptr<Captioner> captioner;

    // Stage 2 set-up for one image: CLIP's input from the original image; the
    // unmasked blocks run once (not needed by --crop-and-mask).
    std::unique_ptr<SegmentEmbedder> image_embedder(const uint8_t* rgb, int width, int height) const {
        const auto rgb_tensor = torch::from_blob(const_cast<uint8_t*>(rgb), {height, width, 3}, torch::kUInt8);
        auto embedder = std::make_unique<SegmentEmbedder>(*clip_vision, params.embedding);
        if (!params.embedding.crop_and_mask)
            embedder->set_image(clip_preprocess(rgb_tensor, clip_vision->image_size()));
        return embedder;
    }

    // Stages 2+3 for masks (N, h, w) float at the working resolution;
    // work_rgb (h, w, 3) uint8 is only read by --crop-and-mask. Adds the time
    // spent to the two counters.
    std::vector<MaskCaption> embed_and_caption(const SegmentEmbedder& embedder, const torch::Tensor& masks,
                                               const torch::Tensor& work_rgb, double& embed_seconds,
                                               double& caption_seconds) const {
        auto t0 = SteadyClock::now();
        const auto embeddings = params.embedding.crop_and_mask ? embedder.embed_crop_and_mask(work_rgb, masks)
                                                               : embedder.embed(masks);  // (N, D)
        embed_seconds += seconds_since(t0);
        t0 = SteadyClock::now();
        auto captions = captioner->caption(embeddings);
        caption_seconds += seconds_since(t0);
        std::vector<MaskCaption> out;
        for (size_t i = 0; i < captions.size(); ++i)
            out.push_back({to_vector(embeddings[static_cast<int64_t>(i)]), std::move(captions[i])});
        return out;
    }

    std::string device_name() const { return device.is_cuda() ? "cuda" : "cpu"; }

    // Pipeline::start, finish and caption_masks, without the GPU's out-of-memory translation.
    std::unique_ptr<StartedImage::State> stage1(const uint8_t* rgb, int width, int height) const;
    PipelineResult stages_2_to_4(StartedImage::State& image) const;
    std::vector<MaskCaption> caption_masks(const uint8_t* rgb, int width, int height,
                                           const std::vector<std::vector<uint8_t>>& masks) const;
};

// One image after stage 1: the image bytes (alive until finish), stage 1's
// output and its timings.
struct StartedImage::State {
    const uint8_t* rgb = nullptr;
    int width = 0, height = 0;
    Candidates candidates;
    std::map<std::string, double> timings;
};

StartedImage::StartedImage() = default;
StartedImage::StartedImage(StartedImage&&) noexcept = default;
StartedImage& StartedImage::operator=(StartedImage&&) noexcept = default;
StartedImage::~StartedImage() = default;

Pipeline::Pipeline() : impl_(std::make_unique<Impl>()) {}
Pipeline::~Pipeline() = default;
const PipelineParams& Pipeline::params() const { return impl_->params; }
std::string Pipeline::device() const { return impl_->device_name(); }
std::string Pipeline::captioner() const { return impl_->captioner->name(); }

std::unique_ptr<Pipeline> Pipeline::load(const ModelDirectory& models, const PipelineParams& params,
                                         const std::string& cache_dir) {
    std::unique_ptr<Pipeline> p(new Pipeline());
    auto& m = *p->impl_;
    m.params = params;
    m.device = device_from_flag(params.device);
    m.dtype = choose_dtype(params.precision, m.device);

    // The captioner: by name, or "auto" (ZeroCap, the paper's, on CUDA; the vocabulary captioner on CPU).
    const CaptionerEntry& captioner = find_captioner(params.captioner, m.device.is_cuda());
    std::vector<std::string> networks = {kDinoFolder, kClipFolder};
    networks.insert(networks.end(), captioner.networks.begin(), captioner.networks.end());
    models.require(networks);

    m.dino = std::make_unique<DinoVit>(DinoVit::load(models.folder(kDinoFolder), m.device, m.dtype));
    m.clip_vision = std::make_unique<ClipVision>(ClipVision::load(models.folder(kClipFolder), m.device, m.dtype));
    m.clip_text = std::make_unique<ClipText>(ClipText::load(models.folder(kClipFolder), m.device, m.dtype));
    m.clip_tokenizer = std::make_unique<ClipTokenizer>(ClipTokenizer(models.file(kClipFolder, "vocab.json"),
                                                                     models.file(kClipFolder, "merges.txt")));
    m.text_encoder = std::make_unique<ClipTextEncoder>(*m.clip_text, *m.clip_tokenizer);
    m.captioner = captioner.make({models, params, cache_dir, m.device, *m.clip_text, *m.clip_tokenizer, *m.text_encoder});
    if (m.captioner->name() != captioner.name)
        throw Error("internal: the captioner listed as '" + captioner.name + "' calls itself '" + m.captioner->name() + "'");
    log::info("captioner: " + m.captioner->name() + ", device: " + p->device());
    return p;
}

namespace {

template <typename F>
auto translate_out_of_memory(F&& f) {
    try {
        return f();
    } catch (const c10::OutOfMemoryError& e) {
        throw Error(std::string("the GPU ran out of memory (") + e.what_without_backtrace() +
                    "); try --device cpu, or --preset fast for a smaller stage 1");
    }
}

}  // namespace

PipelineResult Pipeline::run(const uint8_t* rgb, int width, int height) { return finish(start(rgb, width, height)); }

StartedImage Pipeline::start(const uint8_t* rgb, int width, int height) {
    StartedImage image;
    image.state_ = translate_out_of_memory([&] { return impl_->stage1(rgb, width, height); });
    return image;
}

PipelineResult Pipeline::finish(StartedImage&& image) {
    if (!image.state_) throw Error("internal: Pipeline::finish on an image that was not started");
    const auto state = std::move(image.state_);
    return translate_out_of_memory([&] { return impl_->stages_2_to_4(*state); });
}

std::vector<MaskCaption> Pipeline::caption_masks(const uint8_t* rgb, int width, int height,
                                                 const std::vector<std::vector<uint8_t>>& masks) {
    return translate_out_of_memory([&] { return impl_->caption_masks(rgb, width, height, masks); });
}

std::vector<MaskCaption> Pipeline::Impl::caption_masks(const uint8_t* rgb, int width, int height,
                                                       const std::vector<std::vector<uint8_t>>& masks) const {
    torch::NoGradGuard no_grad;
    if (masks.empty()) return {};
    const size_t pixels = static_cast<size_t>(width) * static_cast<size_t>(height);
    for (const auto& mask : masks)
        if (mask.size() != pixels)
            throw Error("caption_masks: a mask has " + std::to_string(mask.size()) + " bytes, not width × height = " +
                        std::to_string(pixels));

    // The working resolution of stage 1, where the pipeline builds node masks.
    const auto [w, h] = shorter_side_resize(width, height, params.candidates.dino_size);
    auto stacked = torch::empty({static_cast<int64_t>(masks.size()), h, w}, torch::kFloat32);  // (N, h, w)
    auto out = stacked.accessor<float, 3>();
    for (size_t i = 0; i < masks.size(); ++i)
        for (int y = 0; y < h; ++y) {
            // nearest: source index floor(dst · src / dst_size), as torch's 'nearest'
            const size_t row = static_cast<size_t>(std::min(height - 1, static_cast<int>(int64_t{y} * height / h))) * width;
            for (int x = 0; x < w; ++x) {
                const int sx = std::min(width - 1, static_cast<int>(int64_t{x} * width / w));
                out[static_cast<int64_t>(i)][y][x] = masks[i][row + sx] ? 1.0f : 0.0f;
            }
        }
    torch::Tensor work_rgb;
    std::vector<uint8_t> work_bytes;
    if (params.embedding.crop_and_mask) {
        work_bytes = resize_like_pil(rgb, width, height, w, h, ResampleFilter::Lanczos);
        work_rgb = torch::from_blob(work_bytes.data(), {h, w, 3}, torch::kUInt8);
    }
    const auto embedder = image_embedder(rgb, width, height);
    double embed_seconds = 0, caption_seconds = 0;
    return embed_and_caption(*embedder, stacked, work_rgb, embed_seconds, caption_seconds);
}

std::unique_ptr<StartedImage::State> Pipeline::Impl::stage1(const uint8_t* rgb, int width, int height) const {
    torch::NoGradGuard no_grad;  // grad mode is per thread
    const auto start = SteadyClock::now();
    auto image = std::make_unique<StartedImage::State>();
    image->rgb = rgb;
    image->width = width;
    image->height = height;
    image->candidates = CandidateStage(*dino, params.candidates).run(rgb, width, height);
    for (const auto& [k, v] : image->candidates.timings) image->timings["stage1." + k] = v;
    image->timings["stage1"] = seconds_since(start);
    return image;
}

PipelineResult Pipeline::Impl::stages_2_to_4(StartedImage::State& image) const {
    torch::NoGradGuard no_grad;
    const uint8_t* rgb = image.rgb;
    const int width = image.width, height = image.height;
    Candidates& candidates = image.candidates;
    PipelineResult result;
    result.width = width;
    result.height = height;
    result.captioner = captioner->name();
    result.device = device_name();
    result.timings = image.timings;
    result.work_width = candidates.work_width;
    result.work_height = candidates.work_height;
    const int64_t h = candidates.work_height, w = candidates.work_width;
    const auto leaf_map = torch::from_blob(candidates.leaf_map.data(), {h, w}, torch::kInt32).clone();

    // Stage 2 set-up: the CLIP input from the original image; the unmasked blocks run once.
    auto start = SteadyClock::now();
    const auto embedder = image_embedder(rgb, width, height);
    const double embed_setup_seconds = seconds_since(start);
    double embed_seconds = 0, caption_seconds = 0;  // spent inside the merging stage's calls

    // Stages 2+3 for a batch of nodes (leaf sets), called by the merging stage.
    const auto work_rgb = torch::from_blob(candidates.work_rgb.data(), {h, w, 3}, torch::kUInt8);
    auto features = [&](const std::vector<std::vector<int32_t>>& leaf_sets) {
        const auto t0 = SteadyClock::now();
        std::vector<torch::Tensor> masks;
        for (const auto& set : leaf_sets) {
            auto mask = torch::zeros({h, w}, torch::kBool);
            for (int32_t leaf : set) mask |= (leaf_map == leaf);
            masks.push_back(mask.to(torch::kFloat32));
        }
        embed_seconds += seconds_since(t0);
        auto results = embed_and_caption(*embedder, torch::stack(masks), work_rgb, embed_seconds, caption_seconds);
        std::vector<std::pair<std::vector<float>, Caption>> out;
        for (auto& r : results) out.push_back({std::move(r.embedding), std::move(r.caption)});
        return out;
    };

    // Stage 4: merging (calls stages 2 and 3 for the leaves and each accepted merge).
    start = SteadyClock::now();
    auto merged = merge_tree(candidates.leaf_heap_ids, features, params.merge);
    result.timings["stage4"] = std::max(0.0, seconds_since(start) - embed_seconds - caption_seconds);
    result.timings["stage2"] = embed_setup_seconds + embed_seconds;
    result.timings["stage3"] = caption_seconds;
    result.nodes = std::move(merged.nodes);

    // Final label map at the working resolution: each leaf's final ancestor.
    std::vector<int32_t> segment_of_leaf(candidates.leaf_heap_ids.size(), 0);
    for (const auto& node : result.nodes)
        if (node.final)
            for (int32_t leaf : node.leaves) segment_of_leaf[leaf] = node.segment_id;
    result.leaf_map = std::move(candidates.leaf_map);
    result.label_map.resize(result.leaf_map.size());
    for (size_t i = 0; i < result.leaf_map.size(); ++i) result.label_map[i] = segment_of_leaf[result.leaf_map[i]];
    return result;
}

}  // namespace zgseg
