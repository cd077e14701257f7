#include "bench/flops.hpp"

#include <algorithm>

namespace zgseg::flops {

double encoder_block(double T, double C, double I) {
    const double projections = 2 * T * C * 3 * C + 2 * T * C * C;
    const double mlp = 2 * T * C * I + 2 * T * I * C;
    const double attention = 2 * T * T * C + 2 * T * T * C;
    return projections + mlp + attention;
}

double patch_embedding(double patches, double hidden, double patch) { return 2 * patches * hidden * 3 * patch * patch; }

double dino_keys(const VitShape& v, int64_t rows, int64_t cols) {
    const double patches = static_cast<double>(rows * cols), T = 1 + patches, C = static_cast<double>(v.hidden);
    return patch_embedding(patches, C, static_cast<double>(v.patch)) +
           static_cast<double>(v.layers - 1) * encoder_block(T, C, static_cast<double>(v.inner)) + 2 * T * C * C;
}

namespace {

double clip_block(const ClipVisionShape& c) {
    const double T = 1 + static_cast<double>(c.grid * c.grid);
    return encoder_block(T, static_cast<double>(c.vit.hidden), static_cast<double>(c.vit.inner));
}

double clip_patches(const ClipVisionShape& c) {
    return patch_embedding(static_cast<double>(c.grid * c.grid), static_cast<double>(c.vit.hidden),
                           static_cast<double>(c.vit.patch));
}

double clip_projection(const ClipVisionShape& c) {
    return 2 * static_cast<double>(c.vit.hidden) * static_cast<double>(c.projection);
}

}  // namespace

double clip_image(const ClipVisionShape& c) {
    return clip_patches(c) + static_cast<double>(c.vit.layers) * clip_block(c) + clip_projection(c);
}

double segment_embedding(const ClipVisionShape& c, int64_t masked_blocks, int64_t nodes) {
    const double shared = clip_patches(c) + static_cast<double>(c.vit.layers - masked_blocks) * clip_block(c);
    const double per_node = static_cast<double>(masked_blocks) * clip_block(c) + clip_projection(c);
    return shared + static_cast<double>(nodes) * per_node;
}

double segment_embedding_unshared(const ClipVisionShape& c, int64_t nodes) {
    return static_cast<double>(nodes) * clip_image(c);
}

double clip_text(const TextShape& t, std::vector<int64_t> lengths, int64_t batch_size) {
    std::stable_sort(lengths.begin(), lengths.end());
    const double C = static_cast<double>(t.hidden), I = static_cast<double>(t.inner);
    double total = 0;
    for (size_t begin = 0; begin < lengths.size(); begin += static_cast<size_t>(batch_size)) {
        const size_t end = std::min(lengths.size(), begin + static_cast<size_t>(batch_size));
        const double padded = static_cast<double>(lengths[end - 1]);  // sorted: the batch's longest
        total += static_cast<double>(end - begin) * static_cast<double>(t.layers) * encoder_block(padded, C, I);
    }
    return total + static_cast<double>(lengths.size()) * 2 * C * static_cast<double>(t.projection);
}

double sentence_encoder(const TextShape& t, int64_t strings, int64_t padded_length) {
    return static_cast<double>(strings) * static_cast<double>(t.layers) *
           encoder_block(static_cast<double>(padded_length), static_cast<double>(t.hidden), static_cast<double>(t.inner));
}

double gpt2_zerocap_iteration(const Gpt2Shape& g, int64_t beams, int64_t past) {
    const double C = static_cast<double>(g.hidden), I = static_cast<double>(g.inner);
    const double keys = static_cast<double>(past + 1);
    const double products = 2 * C * 3 * C + 2 * C * C + 2 * C * I + 2 * I * C;  // one token
    const double attention = 2 * keys * C + 2 * keys * C;                        // q·kᵀ, p·v over past + 1
    const double head = 2 * C * static_cast<double>(g.vocab);
    const double forward = static_cast<double>(g.layers) * (products + attention) + head;
    const double backward = static_cast<double>(g.layers) * (products + 2 * attention) + head;
    return static_cast<double>(beams) * (forward + backward);
}

}  // namespace zgseg::flops
