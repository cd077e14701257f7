#include "cluster/prune.hpp"

#include <algorithm>
#include <cmath>
#include <queue>
#include <string>

#include "zgseg/error.hpp"

namespace zgseg {
namespace {

void validate(const std::vector<WardMerge>& linkage, const float* x, int64_t n, int64_t d,
              const PruneParams& params) {
    if (n < 2) throw Error("prune_tree: needs at least 2 descriptors, got " + std::to_string(n));
    if (d < 1 || x == nullptr) throw Error("prune_tree: descriptors are missing (width " + std::to_string(d) + ")");
    if (static_cast<int64_t>(linkage.size()) != n - 1)
        throw Error("prune_tree: linkage has " + std::to_string(linkage.size()) + " rows for " + std::to_string(n) +
                    " descriptors (expected n - 1); pass ward_linkage's output for the same descriptors");
    if (params.max_splits < 1 || params.max_splits > 62)
        throw Error("prune_tree: max_splits must be in 1..62, got " + std::to_string(params.max_splits));
    if (std::isnan(params.threshold)) throw Error("prune_tree: threshold is NaN");
    // Each row merges two distinct clusters that exist and are still unmerged.
    std::vector<char> used(static_cast<size_t>(2 * n - 1), 0);
    for (int64_t r = 0; r < n - 1; ++r) {
        const WardMerge& m = linkage[r];
        const bool ok = m.a >= 0 && m.b >= 0 && m.a != m.b && m.a < n + r && m.b < n + r && !used[m.a] && !used[m.b];
        if (!ok)
            throw Error("prune_tree: linkage row " + std::to_string(r) + " is not a valid merge (" +
                        std::to_string(m.a) + ", " + std::to_string(m.b) + ")");
        used[m.a] = used[m.b] = 1;
    }
}

// Mean descriptor (d) of `members`, accumulated in double.
std::vector<double> mean_of(const std::vector<int32_t>& members, const float* x, int64_t d) {
    std::vector<double> mean(static_cast<size_t>(d), 0.0);
    for (int32_t i : members)
        for (int64_t t = 0; t < d; ++t) mean[t] += double(x[i * d + t]);
    for (double& v : mean) v /= double(members.size());
    return mean;
}

// sklearn cosine_similarity: rows scaled to unit norm (a zero row stays zero).
double cosine(const std::vector<double>& a, const std::vector<double>& b) {
    double na = 0, nb = 0, dot = 0;
    for (size_t t = 0; t < a.size(); ++t) {
        na += a[t] * a[t];
        nb += b[t] * b[t];
    }
    na = std::sqrt(na);
    nb = std::sqrt(nb);
    if (na == 0) na = 1;
    if (nb == 0) nb = 1;
    for (size_t t = 0; t < a.size(); ++t) dot += (a[t] / na) * (b[t] / nb);
    return dot;
}

struct Part {
    int64_t node;
    int64_t heap_id;
    std::vector<int32_t> members;
    std::vector<double> mean;
};

}  // namespace

std::vector<int32_t> cluster_members(const std::vector<WardMerge>& linkage, int64_t n, int64_t node) {
    std::vector<int32_t> members;
    std::vector<int64_t> stack{node};
    while (!stack.empty()) {
        const int64_t v = stack.back();
        stack.pop_back();
        if (v < n) {
            members.push_back(static_cast<int32_t>(v));
        } else {
            stack.push_back(linkage[v - n].a);
            stack.push_back(linkage[v - n].b);
        }
    }
    std::sort(members.begin(), members.end());
    return members;
}

PrunedPartition prune_tree(const std::vector<WardMerge>& linkage, const float* x, int64_t n, int64_t d,
                           const PruneParams& params) {
    validate(linkage, x, n, d, params);
    PrunedPartition out;

    // Parts in the order they were added; part p owns label p in `label`.
    std::vector<Part> parts;
    std::vector<int32_t> label(static_cast<size_t>(n), 0);
    std::priority_queue<int64_t> frontier;  // sklearn's heap of (negated) node ids
    frontier.push(2 * n - 2);
    const int64_t splits = std::min<int64_t>(params.max_splits, n - 1);
    for (int64_t k = 0; k < splits; ++k) {
        PruneSplit split;
        split.node = frontier.top();
        frontier.pop();
        const WardMerge& row = linkage[split.node - n];
        split.first = row.a;
        split.second = row.b;
        frontier.push(row.a);
        frontier.push(row.b);

        Part first{row.a, -1, cluster_members(linkage, n, row.a), {}};
        Part second{row.b, -1, cluster_members(linkage, n, row.b), {}};
        first.mean = mean_of(first.members, x, d);
        second.mean = mean_of(second.members, x, d);
        split.cosine = cosine(first.mean, second.mean);

        // The node being split must be a part already (node-id equality is
        // the reference's mask equality, see the header).
        int64_t parent_heap = -1;
        if (k == 0) {
            parent_heap = 0;
        } else {
            for (const Part& p : parts)
                if (p.node == split.node) parent_heap = p.heap_id;
        }
        split.heap_id = parent_heap;
        split.accepted = k == 0 || (split.cosine < params.threshold && parent_heap >= 0);
        if (split.accepted) {
            first.heap_id = 2 * parent_heap + 1;
            second.heap_id = 2 * parent_heap + 2;
            for (Part* p : {&first, &second}) {
                for (int32_t i : p->members) label[i] = static_cast<int32_t>(parts.size());
                parts.push_back(std::move(*p));
            }
        }
        out.splits.push_back(split);
    }

    // Leaves: parts that still own cells, re-indexed in insertion order.
    std::vector<int64_t> owned(parts.size(), 0);
    for (int32_t l : label) ++owned[l];
    std::vector<int32_t> leaf_index(parts.size(), -1);
    for (size_t p = 0; p < parts.size(); ++p) {
        if (owned[p] == 0) continue;
        leaf_index[p] = static_cast<int32_t>(out.leaf_heap_ids.size());
        out.leaf_heap_ids.push_back(parts[p].heap_id);
        out.leaf_nodes.push_back(parts[p].node);
        out.leaf_sizes.push_back(owned[p]);
        // A part that owns cells owns all of its members (only whole parts are relabelled).
        out.leaf_centroids.insert(out.leaf_centroids.end(), parts[p].mean.begin(), parts[p].mean.end());
    }
    out.leaf_of_cell.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out.leaf_of_cell[i] = leaf_index[label[i]];
    return out;
}

}  // namespace zgseg
