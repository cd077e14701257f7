// Top-down cut and pruning of the Ward tree, exactly as the reference's stage 1
// (reference-notes §2: the modified sklearn `_hc_cut` in
// dino_modules/agglomerative_clustering.py and the loop in
// run_dino_clustering_tree.py::find_part_cosegmentation).
//
// Cut: a max-heap of cluster ids starts with the root (2n - 2); split k pops
// the largest id (the most recently formed cluster) and pushes its two
// children. The "first" child is scipy's Z[row, 0] (the smaller id, sklearn's
// children_[row][0]), the "second" is Z[row, 1]. Only the first `max_splits`
// splits are examined (the reference examines num_parts / 2 = 10 of the 19 it
// computes).
//
// Pruning, in split order:
//   - split 0 (the root) is always accepted; its children get heap ids 1, 2;
//   - split k >= 1 is accepted iff cos(mean descriptor of first child, mean of
//     second child) < threshold AND the node it splits is one of the parts
//     added so far (a child of an earlier accepted split). The accepted
//     children of a part with heap id t get 2t + 1 (first) and 2t + 2 (second).
//   A rejected split is never revisited, so nothing below it is considered.
// Means are plain averages of the (unit-normalised) descriptors, not
// re-normalised; the cosine is sklearn's (0 when a mean is the zero vector).
//
// The reference finds "the node it splits" by comparing the union of the two
// children's pixel masks with every part's mask. The union of a split's
// children is exactly the split node's member set, and distinct tree nodes
// have distinct member sets (an ancestor strictly contains its descendants,
// other nodes are disjoint), so mask equality is node-id equality: here it is
// a lookup of the node id among the parts.
//
// Leaves are the parts that still own cells (i.e. were not split by a later
// accepted split), in the order the parts were added; each cell's leaf is the
// last accepted part containing it.
#pragma once

#include <cstdint>
#include <vector>

#include "cluster/ward.hpp"

namespace zgseg {

struct PruneParams {
    int max_splits = 10;     // top-down splits examined (1..62)
    double threshold = 0.9;  // accept a split when cos(children) < threshold
};

// One examined split, in examination order.
struct PruneSplit {
    int64_t node = 0;           // scipy cluster id being split
    int64_t first = 0, second = 0;  // its children (scipy ids), first = Z[row, 0]
    double cosine = 0;          // cosine of the children's mean descriptors
    bool accepted = false;
    int64_t heap_id = -1;       // heap id of `node` (0: root) if it is a part, else -1
};

struct PrunedPartition {
    std::vector<int32_t> leaf_of_cell;    // (n) leaf index of each descriptor row
    std::vector<int64_t> leaf_heap_ids;   // (K) heap id of each leaf (reference `tree`)
    std::vector<int64_t> leaf_nodes;      // (K) scipy cluster id of each leaf
    std::vector<int64_t> leaf_sizes;      // (K) cells per leaf
    std::vector<double> leaf_centroids;   // (K, d) mean descriptor of each leaf's cells
    std::vector<PruneSplit> splits;       // the examined splits

    int64_t leaf_count() const { return static_cast<int64_t>(leaf_heap_ids.size()); }
};

// Heap-id arithmetic of the merge tree (root 0, children 2t + 1 and 2t + 2).
inline int64_t heap_parent(int64_t id) { return (id - 1) / 2; }
inline int64_t heap_sibling(int64_t id) { return id % 2 == 1 ? id + 1 : id - 1; }
inline int64_t heap_first_child(int64_t id) { return 2 * id + 1; }

// linkage: n - 1 rows in scipy's layout (ward_linkage's output) for the n
// descriptors x: (n, d) float32. Throws zgseg::Error on an inconsistent
// linkage or bad parameters.
PrunedPartition prune_tree(const std::vector<WardMerge>& linkage, const float* x, int64_t n, int64_t d,
                           const PruneParams& params = {});

// Members (descriptor rows) of scipy cluster `node`, ascending.
std::vector<int32_t> cluster_members(const std::vector<WardMerge>& linkage, int64_t n, int64_t node);

}  // namespace zgseg
