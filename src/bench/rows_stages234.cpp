// The rows of stages 2–4 and the outputs: the vocabulary cache, CLIP's masked
// attention, the vocabulary captioner, merging, the four output files.
#include <algorithm>
#include <fstream>
#include <string>

#include "bench/rows.hpp"
#include "core/sha256.hpp"
#include "io/outputs.hpp"
#include "stages/embedding/segment_embedder.hpp"

namespace fs = std::filesystem;

namespace zgseg::bench {

namespace {

constexpr int64_t kVocabEncodeChunk = 512;  // VocabCaptioner's strings per text-tower call

// N vertical stripes of growing width at the working resolution: the cost of
// stage 2 does not depend on the masks' shapes.
void make_masks(Context& c) {
    const int64_t n = c.o.nodes;
    c.masks = torch::zeros({n, c.work_h, c.work_w});
    for (int64_t i = 0; i < n; ++i) c.masks[i].slice(1, 0, std::max<int64_t>(1, c.work_w * (i + 1) / n)) = 1;
}

}  // namespace

Row vocab_cache_row() {
    Row r;
    r.name = "vocab_cache";
    r.title = "stage 3 set-up: vocabulary cache build (a slice; see the extrapolated row)";
    r.networks = {kClipFolder};
    r.prepare = [](Context& c) {
        c.text_encoder();
        const size_t n = std::min(c.vocabulary.size(), static_cast<size_t>(c.o.vocab_entries));
        c.vocab_slice = c.work.path / "vocab-slice.txt";
        std::ofstream out(c.vocab_slice);
        for (size_t i = 0; i < n; ++i) out << c.vocabulary[i] << "\n";
    };
    r.run = [](Context& c, int rep) {
        // A fresh cache folder each time, so every repetition builds it.
        c.captioner = std::make_unique<VocabCaptioner>(c.text_encoder(), model_fingerprint(c.models.folder(kClipFolder)),
                                                       c.vocab_slice,
                                                       c.work.path / ("vocab-cache-" + std::to_string(rep)), 5);
    };
    r.flops = [](Context& c) {
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
    };
    r.note = [](Context& c) {
        return std::to_string(read_vocabulary(c.vocab_slice).size()) + " of " + std::to_string(c.vocabulary.size()) +
               " entries";
    };
    return r;
}

Row embedding_row() {
    Row r;
    r.name = "embedding";
    r.title = "stage 2: CLIP-L masked attention, shared blocks once + the last blocks per node";
    r.needs = {"image"};
    r.networks = {kClipFolder};
    r.prepare = make_masks;
    r.run = [](Context& c, int) {
        SegmentEmbedder embedder(c.clip_vision(), c.embedding_params);
        embedder.set_image(c.clip_image);
        c.embeddings = embedder.embed(c.masks);
    };
    r.flops = [](Context& c) {
        return flops::segment_embedding(c.clip_shape(), c.embedding_params.masked_blocks, c.o.nodes);
    };
    r.note = [](Context& c) {
        const int batch = c.embedding_params.segments_per_batch;
        return std::to_string(c.o.nodes) + " nodes (fixed), last " + std::to_string(c.embedding_params.masked_blocks) +
               " of " + std::to_string(c.clip_vision().num_blocks()) + " blocks per node, " +
               (batch > 0 ? std::to_string(batch) + (batch == 1 ? " node" : " nodes") + " a batch"
                          : std::string("default node batch (1 on CPU, 16 on CUDA)"));
    };
    return r;
}

Row embedding_unshared_row() {
    Row r;
    r.name = "embedding_unshared";
    r.title = "stage 2 the reference's way: one full CLIP-L forward per node";
    r.default_on = false;
    r.needs = {"image"};
    r.networks = {kClipFolder};
    r.prepare = make_masks;
    r.run = [](Context& c, int) {
        SegmentEmbedder embedder(c.clip_vision(), c.embedding_params);
        c.embeddings = embedder.embed_unshared(c.clip_image, c.masks);
    };
    r.flops = [](Context& c) { return flops::segment_embedding_unshared(c.clip_shape(), c.o.nodes); };
    r.note = [](Context& c) { return std::to_string(c.o.nodes) + " nodes (fixed)"; };
    return r;
}

Row caption_row() {
    Row r;
    r.name = "caption";
    r.title = "stage 3: vocabulary captioner (cosine top-k against the cache)";
    r.needs = {"embedding", "vocab_cache"};
    r.networks = {kClipFolder};
    r.run = [](Context& c, int) { c.captions = c.captioner->caption(c.embeddings); };
    r.flops = [](Context& c) {
        return 2.0 * c.o.nodes * static_cast<double>(c.embeddings.size(1)) *
               static_cast<double>(c.captioner->vocabulary().size());
    };
    r.note = [](Context& c) {
        return std::to_string(c.o.nodes) + " nodes against " + std::to_string(c.captioner->vocabulary().size()) +
               " entries";
    };
    return r;
}

Row merging_row() {
    Row r;
    r.name = "merging";
    r.title = "stage 4: merging up the tree (features precomputed)";
    r.needs = {"crf", "embedding", "caption"};
    r.run = [](Context& c, int) {
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
    };
    r.note = [](Context& c) {
        return std::to_string(c.leaf_heap_ids.size()) + " leaves, " +
               std::to_string(c.merged.feature_calls - static_cast<int>(c.leaf_heap_ids.size())) + " merges accepted";
    };
    r.random_sensitive = true;
    return r;
}

Row outputs_row() {
    Row r;
    r.name = "outputs";
    r.title = "outputs: label PNG, JSON, embeddings, overlay JPEG";
    r.needs = {"merging"};
    r.run = [](Context& c, int) {
        PipelineResult result;
        result.width = c.image.original_size.width;
        result.height = c.image.original_size.height;
        result.work_width = c.work_w;
        result.work_height = c.work_h;
        result.nodes = c.merged.nodes;
        result.captioner = "vocab";
        result.device = c.device.is_cuda() ? "cuda" : "cpu";
        std::vector<int32_t> segment_of_leaf(c.leaf_heap_ids.size(), 0);
        for (const auto& node : result.nodes)
            if (node.final)
                for (int32_t leaf : node.leaves) segment_of_leaf[leaf] = node.segment_id;
        result.leaf_map = c.leaf_map;
        result.label_map.resize(result.leaf_map.size());
        for (size_t i = 0; i < result.leaf_map.size(); ++i) result.label_map[i] = segment_of_leaf[result.leaf_map[i]];
        OutputContext ctx;
        ctx.input_path = c.o.image;
        ctx.input_sha256 = sha256_file(c.o.image);
        ctx.input_format = format_name(c.image.format);
        ctx.models = {{"folder", c.models.root().string()}};
        ctx.parameters = {{"bench", true}};
        ctx.overwrite = true;
        const fs::path out = c.work.path / "outputs";
        fs::create_directories(out);
        write_outputs(out / fs::path(c.o.image).stem(), result, c.image.rgb, ctx);
    };
    r.note = [](Context& c) {
        return std::to_string(std::count_if(c.merged.nodes.begin(), c.merged.nodes.end(),
                                            [](const Node& n) { return n.final; })) +
               " final segment(s) at " + std::to_string(c.image.original_size.width) + "×" +
               std::to_string(c.image.original_size.height);
    };
    r.random_sensitive = true;
    return r;
}

Row clip_image_row() {
    Row r;
    r.name = "clip_image";
    r.title = "one standard CLIP-L image forward (for reference)";
    r.default_on = false;
    r.needs = {"image"};
    r.networks = {kClipFolder};
    r.run = [](Context& c, int) {
        torch::NoGradGuard no_grad;
        c.clip_vision().image_embedding(c.clip_image);
    };
    r.flops = [](Context& c) { return flops::clip_image(c.clip_shape()); };
    return r;
}

}  // namespace zgseg::bench
