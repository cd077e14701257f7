#include "stages/merging/merge_tree.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "zgseg/error.hpp"

namespace zgseg {

double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size() || a.empty()) throw Error("cosine of vectors of different or zero length");
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        dot += double(a[i]) * b[i];
        na += double(a[i]) * a[i];
        nb += double(b[i]) * b[i];
    }
    return dot / std::max(std::sqrt(na) * std::sqrt(nb), 1e-12);
}

MergeOutcome merge_tree(const std::vector<int64_t>& leaf_heap_ids, const NodeFeaturesFn& features,
                        const MergeParams& params) {
    MergeOutcome outcome;
    const size_t n = leaf_heap_ids.size();

    // Every leaf's features in one call (one batch through CLIP and the captioner).
    std::vector<std::vector<int32_t>> leaf_sets(n);
    for (size_t i = 0; i < n; ++i) leaf_sets[i] = {static_cast<int32_t>(i)};
    auto leaf_features = n ? features(leaf_sets) : decltype(features(leaf_sets)){};
    if (leaf_features.size() != n) throw Error("node features: wrong number of results");
    outcome.feature_calls = static_cast<int>(n);

    std::vector<Node> leaves(n);
    for (size_t i = 0; i < n; ++i) {
        leaves[i].heap_id = leaf_heap_ids[i];
        leaves[i].leaves = leaf_sets[i];
        leaves[i].embedding = std::move(leaf_features[i].first);
        leaves[i].caption = std::move(leaf_features[i].second);
        leaves[i].parent_heap_id = leaf_heap_ids[i] > 0 ? (leaf_heap_ids[i] - 1) / 2 : -1;
    }

    // The node table by heap id (index into `added`), and the LIFO stack.
    std::vector<Node> added;
    std::map<int64_t, size_t> table;
    struct Pending {
        int64_t heap_id;
        std::vector<int32_t> leaves;
        int leaf_index;  // ≥ 0 for a leaf
    };
    std::vector<Pending> stack;
    for (size_t i = 0; i < n; ++i) stack.push_back({leaf_heap_ids[i], leaf_sets[i], static_cast<int>(i)});

    const double text_weight = 1.0 - params.image_weight;
    while (!stack.empty()) {
        Pending item = std::move(stack.back());
        stack.pop_back();
        const int64_t id = item.heap_id;
        const auto first = table.find(2 * id + 1), second = table.find(2 * id + 2);
        Node node;
        if (item.leaf_index < 0 && first != table.end() && second != table.end()) {
            // A parent: decide from the two children's features.
            const Node& a = added[first->second];
            const Node& b = added[second->second];
            const double similarity =
                params.image_weight * cosine_similarity(a.embedding, b.embedding) +
                text_weight * cosine_similarity(a.caption.text_embedding, b.caption.text_embedding);
            if (!params.enabled || similarity < params.threshold) continue;  // branch stops here
            auto computed = features({item.leaves});
            if (computed.size() != 1) throw Error("node features: wrong number of results");
            ++outcome.feature_calls;
            node.heap_id = id;
            node.leaves = item.leaves;
            std::sort(node.leaves.begin(), node.leaves.end());
            node.embedding = std::move(computed[0].first);
            node.caption = std::move(computed[0].second);
            node.merged = true;
            node.merge_similarity = similarity;
            node.parent_heap_id = id > 0 ? (id - 1) / 2 : -1;
            added[first->second].final = false;
            added[second->second].final = false;
        } else {
            if (item.leaf_index < 0) continue;  // cannot happen: parents are pushed with both children present
            node = leaves[item.leaf_index];
        }
        node.final = true;
        node.insertion_order = static_cast<int>(added.size());
        table[id] = added.size();
        added.push_back(std::move(node));

        // Sibling present and still final → consider merging into the parent.
        if (id > 0) {
            const int64_t sibling = (id % 2 == 0) ? id - 1 : id + 1;
            const auto s = table.find(sibling);
            if (s != table.end() && added[s->second].final) {
                std::vector<int32_t> both = added[table[id]].leaves;
                const auto& other = added[s->second].leaves;
                both.insert(both.end(), other.begin(), other.end());
                stack.push_back({(id - 1) / 2, std::move(both), -1});
            }
        }
    }

    // Final segment ids: 1..K in reverse insertion order (the reference
    // assigns its labels in reverse insertion order).
    int next_id = 1;
    for (auto it = added.rbegin(); it != added.rend(); ++it)
        if (it->final) it->segment_id = next_id++;

    // Leaves first in stage-1 order, then the merged parents in insertion order.
    std::vector<Node> ordered(n);
    for (auto& node : added) {
        if (!node.merged) ordered[node.leaves[0]] = std::move(node);
    }
    for (auto& node : added)
        if (node.merged) ordered.push_back(std::move(node));
    outcome.nodes = std::move(ordered);
    return outcome;
}

}  // namespace zgseg
