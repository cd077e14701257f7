// Stage 1's rows: the image, DINO's keys, the Ward tree, the cut, the CRF.
#include <algorithm>
#include <string>

#include "bench/rows.hpp"
#include "io/resample.hpp"
#include "stages/candidates/candidates.hpp"
#include "stages/embedding/segment_embedder.hpp"

namespace zgseg::bench {

Row image_row() {
    Row r;
    r.name = "image";
    r.title = "image: decode + Lanczos to shorter side 224 + bicubic 336×336 for CLIP";
    r.networks = {kClipFolder};  // CLIP's input size
    r.prepare = [](Context& c) { c.clip_vision(); };
    r.run = [](Context& c, int) {
        c.image = load_image(c.o.image);
        const auto& rgb = c.image.rgb;
        const auto [w, h] = shorter_side_resize(rgb.cols, rgb.rows, c.candidate_params.dino_size);
        c.work_w = w;
        c.work_h = h;
        c.work_rgb = resize_like_pil(rgb.data, rgb.cols, rgb.rows, w, h, ResampleFilter::Lanczos);
        const auto t = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8);
        c.clip_image = clip_preprocess(t, c.clip_vision().image_size());
    };
    r.note = [](Context& c) {
        return std::to_string(c.image.rgb.cols) + "×" + std::to_string(c.image.rgb.rows) + " → " +
               std::to_string(c.work_w) + "×" + std::to_string(c.work_h);
    };
    return r;
}

namespace {

// DINO's keys of the resized image, with whichever attention kernel is set.
Row dino_row(const std::string& name, const std::string& title, bool default_on) {
    Row r;
    r.name = name;
    r.title = title;
    r.default_on = default_on;
    r.needs = {"image"};
    r.networks = {kDinoFolder};
    r.run = [](Context& c, int) {
        torch::NoGradGuard no_grad;
        const CandidateStage stage(c.dino(), c.candidate_params);
        c.descriptors = stage.descriptors(c.work_rgb, c.work_w, c.work_h, &c.grid_rows, &c.grid_cols);
    };
    r.flops = [](Context& c) {
        const auto& v = c.dino().config();
        return flops::dino_keys({v.hidden_size, v.intermediate_size, v.num_layers, v.patch_size}, c.grid_rows,
                                c.grid_cols);
    };
    r.note = [](Context& c) {
        return std::to_string(c.grid_rows) + "×" + std::to_string(c.grid_cols) + " = " +
               std::to_string(c.grid_rows * c.grid_cols) + " tokens";
    };
    return r;
}

}  // namespace

Row dino_keys_row() {
    Row r = dino_row("dino_keys", "stage 1: DINO ViT-S/8 last-block keys", true);
    r.prepare = [](Context& c) { c.dino().set_attention_kernel(AttentionKernel::Fused); };
    return r;
}

Row dino_keys_chunked_row() {
    Row r = dino_row("dino_keys_chunked", "stage 1: DINO keys with the plain chunked attention (for reference)", false);
    r.prepare = [](Context& c) { c.dino().set_attention_kernel(AttentionKernel::Chunked); };
    r.run = [keys = r.run](Context& c, int rep) {
        keys(c, rep);
        c.dino().set_attention_kernel(AttentionKernel::Fused);
    };
    return r;
}

Row ward_row() {
    Row r;
    r.name = "ward";
    r.title = "stage 1: Ward tree over all keys";
    r.needs = {"dino_keys"};
    r.run = [](Context& c, int) {
        c.linkage = ward_linkage(c.descriptors.data_ptr<float>(), c.descriptors.size(0), c.descriptors.size(1),
                                 candidate_ward_options(), &c.ward_stats);
    };
    r.note = [](Context& c) {
        return std::to_string(c.descriptors.size(0)) + " × " + std::to_string(c.descriptors.size(1)) + ", " +
               std::to_string(c.ward_stats.full_scans) + " rescans";
    };
    r.random_sensitive = true;
    return r;
}

Row prune_row() {
    Row r;
    r.name = "prune";
    r.title = "stage 1: top-down cut and cosine pruning";
    r.needs = {"ward"};
    r.run = [](Context& c, int) {
        c.partition = prune_tree(c.linkage, c.descriptors.data_ptr<float>(), c.descriptors.size(0),
                                 c.descriptors.size(1), candidate_prune_params(c.candidate_params));
    };
    r.note = [](Context& c) { return std::to_string(c.partition.leaf_count()) + " leaves"; };
    r.random_sensitive = true;
    return r;
}

Row crf_row() {
    Row r;
    r.name = "crf";
    r.title = "stage 1: DenseCRF on the resized image";
    r.needs = {"prune"};
    r.run = [](Context& c, int) {
        // As CandidateStage::run: the CRF over the leaves, then the leaves it emptied are dropped.
        std::vector<int32_t> labels(static_cast<size_t>(c.work_w) * c.work_h, 0);
        if (c.partition.leaf_count() > 1)
            labels = crf_leaf_labels(c.descriptors, c.grid_rows, c.grid_cols, c.partition, c.work_rgb, c.work_w,
                                     c.work_h, c.candidate_params);
        auto kept = drop_empty_leaves(labels, c.partition.leaf_heap_ids);
        c.leaf_map = std::move(kept.leaf_map);
        c.leaf_heap_ids = std::move(kept.leaf_heap_ids);
    };
    r.note = [](Context& c) {
        return std::to_string(c.partition.leaf_count()) + " labels, " + std::to_string(c.work_w) + "×" +
               std::to_string(c.work_h) + ", " + std::to_string(c.candidate_params.crf_iterations) + " iterations";
    };
    r.random_sensitive = true;
    return r;
}

}  // namespace zgseg::bench
