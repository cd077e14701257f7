// Stage 4: merging sibling segments up the Ward tree (paper §3.4;
// reference-notes §5), as the reference code orders it:
//
//   - a LIFO stack starts with every leaf (in stage 1's leaf order) and is
//     popped from the end;
//   - a popped leaf gets its embedding and caption and is added as final;
//   - a popped parent is merged iff
//       image_weight · cos(img₁, img₂) + (1 − image_weight) · cos(txt₁, txt₂) ≥ threshold
//     over its two CHILDREN's features; merged → added as final with its own
//     fresh embedding and caption, the children stop being final; rejected →
//     discarded, and that branch merges no further;
//   - after adding node c: if its sibling (c−1 for even c, c+1 for odd c) is
//     present and final, the parent (c−1)/2 is pushed with both leaf sets.
//
// Unlike the reference, a parent's embedding and caption are computed only
// after its merge is accepted (the reference computes and discards them):
// the same result with fewer captioner calls.
#pragma once

#include <functional>
#include <vector>

#include "zgseg/params.hpp"
#include "zgseg/result.hpp"

namespace zgseg {

// Computes embedding + caption for each node (given by its leaf set). Called
// once with all leaves, then once per accepted merge.
using NodeFeaturesFn = std::function<std::vector<std::pair<std::vector<float>, Caption>>(
    const std::vector<std::vector<int32_t>>& leaf_sets)>;

struct MergeOutcome {
    std::vector<Node> nodes;  // leaves first (stage-1 order), then accepted parents in insertion order
    int feature_calls = 0;    // nodes for which features were computed (= leaves + accepted merges)
};

// leaf_heap_ids[i]: heap id of stage-1 leaf i.
MergeOutcome merge_tree(const std::vector<int64_t>& leaf_heap_ids, const NodeFeaturesFn& features,
                        const MergeParams& params);

double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace zgseg
