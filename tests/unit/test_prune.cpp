// prune_tree: a hand-built tree worked through by hand (split order, heap
// ids, "rejected split hides its descendants"), planted regions recovered
// exactly through ward_linkage + prune_tree, and input errors. Parity with a
// Python re-implementation of the reference is in golden/test_prune_reference.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "cluster/prune.hpp"
#include "cluster/ward.hpp"
#include "unit/ward_test_data.hpp"
#include "zgseg/error.hpp"

using zgseg::PruneParams;
using zgseg::WardMerge;

namespace {

// Six 2-d points and a tree: 6 = {0,1}, 7 = {2,3}, 8 = {4,5}, 9 = {6,7}, root 10 = {8,9}.
// cos(x0, x1) = 0, cos(mean{0,1}, mean{2,3}) = 0.707, cos(x2, x3) = 0.980, cos(x4, x5) = 0.
const std::vector<float> kPoints = {1, 0, 0, 1, 1, 0.1f, 1, -0.1f, -1, 0, 0, -1};
const std::vector<WardMerge> kTree = {{0, 1, 1, 2}, {2, 3, 1, 2}, {4, 5, 1, 2}, {6, 7, 2, 4}, {8, 9, 3, 6}};

zgseg::PrunedPartition prune(double threshold, int max_splits) {
    PruneParams params;
    params.threshold = threshold;
    params.max_splits = max_splits;
    return zgseg::prune_tree(kTree, kPoints.data(), 6, 2, params);
}

TEST(Prune, SplitsLargestNodeFirst) {
    const auto p = prune(0.5, 10);
    ASSERT_EQ(p.splits.size(), 5u);  // capped at n - 1
    const int64_t nodes[] = {10, 9, 8, 7, 6};
    for (int k = 0; k < 5; ++k) EXPECT_EQ(p.splits[k].node, nodes[k]) << k;
    EXPECT_EQ(p.splits[0].first, 8);
    EXPECT_EQ(p.splits[0].second, 9);
    EXPECT_NEAR(p.splits[1].cosine, std::sqrt(0.5), 1e-6);
    EXPECT_NEAR(p.splits[4].cosine, 0.0, 1e-12);
}

// T = 0.5: split of 9 rejected (0.707), so split of 6 (cos 0) is never
// considered although its cosine is below T; split of 8 accepted.
TEST(Prune, RejectedSplitHidesDescendants) {
    const auto p = prune(0.5, 10);
    EXPECT_TRUE(p.splits[0].accepted);
    EXPECT_FALSE(p.splits[1].accepted);
    EXPECT_TRUE(p.splits[2].accepted);
    EXPECT_FALSE(p.splits[3].accepted);
    EXPECT_FALSE(p.splits[4].accepted);
    EXPECT_EQ(p.splits[4].heap_id, -1);
    EXPECT_EQ(p.leaf_heap_ids, (std::vector<int64_t>{2, 3, 4}));
    EXPECT_EQ(p.leaf_nodes, (std::vector<int64_t>{9, 4, 5}));
    EXPECT_EQ(p.leaf_of_cell, (std::vector<int32_t>{0, 0, 0, 0, 1, 2}));
    EXPECT_EQ(p.leaf_sizes, (std::vector<int64_t>{4, 1, 1}));
    ASSERT_EQ(p.leaf_centroids.size(), 6u);
    EXPECT_NEAR(p.leaf_centroids[0], 0.75, 1e-7);  // mean of x0..x3
    EXPECT_NEAR(p.leaf_centroids[1], 0.25, 1e-7);
}

// T = 0.8: the split of 9 passes, then 8, then 6 (under 9's first child);
// 7's split fails on cosine. Leaves in insertion order with heap ids.
TEST(Prune, AcceptedChainGetsHeapIds) {
    const auto p = prune(0.8, 10);
    EXPECT_EQ(p.leaf_heap_ids, (std::vector<int64_t>{6, 3, 4, 11, 12}));
    EXPECT_EQ(p.leaf_of_cell, (std::vector<int32_t>{3, 4, 0, 0, 1, 2}));
    EXPECT_EQ(p.splits[4].heap_id, 5);
    for (int64_t id : p.leaf_heap_ids) {
        EXPECT_EQ(zgseg::heap_parent(zgseg::heap_first_child(id)), id);
        EXPECT_EQ(zgseg::heap_sibling(zgseg::heap_sibling(id)), id);
    }
    EXPECT_EQ(zgseg::heap_parent(11), 5);
    EXPECT_EQ(zgseg::heap_sibling(11), 12);
}

TEST(Prune, OnlyTheFirstMaxSplitsAreExamined) {
    const auto p = prune(0.8, 2);
    ASSERT_EQ(p.splits.size(), 2u);
    EXPECT_EQ(p.leaf_heap_ids, (std::vector<int64_t>{1, 5, 6}));
    EXPECT_EQ(p.leaf_of_cell, (std::vector<int32_t>{1, 1, 2, 2, 0, 0}));
    // The root split is accepted whatever its cosine.
    const auto q = prune(-2.0, 10);
    EXPECT_EQ(q.leaf_heap_ids, (std::vector<int64_t>{1, 2}));
}

TEST(Prune, ClusterMembers) {
    EXPECT_EQ(zgseg::cluster_members(kTree, 6, 9), (std::vector<int32_t>{0, 1, 2, 3}));
    EXPECT_EQ(zgseg::cluster_members(kTree, 6, 4), (std::vector<int32_t>{4}));
}

TEST(Prune, RejectsBadInput) {
    PruneParams params;
    EXPECT_THROW(zgseg::prune_tree({}, kPoints.data(), 6, 2, params), zgseg::Error);
    std::vector<WardMerge> bad = kTree;
    bad[3] = {6, 6, 2, 4};
    EXPECT_THROW(zgseg::prune_tree(bad, kPoints.data(), 6, 2, params), zgseg::Error);
    bad = kTree;
    bad[0] = {0, 9, 1, 2};  // refers to a cluster formed later
    EXPECT_THROW(zgseg::prune_tree(bad, kPoints.data(), 6, 2, params), zgseg::Error);
    params.max_splits = 0;
    EXPECT_THROW(zgseg::prune_tree(kTree, kPoints.data(), 6, 2, params), zgseg::Error);
    params.max_splits = 10;
    params.threshold = std::nan("");
    EXPECT_THROW(zgseg::prune_tree(kTree, kPoints.data(), 6, 2, params), zgseg::Error);
}

// k planted regions (distinct directions plus noise) on a 40 x 60 grid come
// back exactly with the reference defaults (10 splits, T = 0.9): the k - 1
// region splits are the top of the tree and accepted; the splits inside a
// region have children with nearly equal means and are rejected.
class PlantedRegions : public ::testing::TestWithParam<int> {};

TEST_P(PlantedRegions, AreRecoveredExactly) {
    const int k = GetParam();
    const int64_t h = 40, w = 60, d = 64, n = h * w;
    std::vector<int> truth;
    const std::vector<float> x = ward_test::planted_regions(h, w, d, k, 0.08f, 1000 + k, truth);
    const auto tree = zgseg::ward_linkage(x.data(), n, d);
    const auto p = zgseg::prune_tree(tree, x.data(), n, d);
    ASSERT_EQ(p.leaf_count(), k);
    // Same partition: a one-to-one map between leaves and planted labels.
    std::map<int32_t, int> leaf_to_region;
    std::map<int, int32_t> region_to_leaf;
    for (int64_t i = 0; i < n; ++i) {
        const auto a = leaf_to_region.emplace(p.leaf_of_cell[i], truth[i]);
        const auto b = region_to_leaf.emplace(truth[i], p.leaf_of_cell[i]);
        ASSERT_EQ(a.first->second, truth[i]) << "cell " << i;
        ASSERT_EQ(b.first->second, p.leaf_of_cell[i]) << "cell " << i;
    }
    // Leaf centroids are the plain means of their cells.
    for (int64_t l = 0; l < p.leaf_count(); ++l) {
        std::vector<double> mean(static_cast<size_t>(d), 0.0);
        for (int64_t i = 0; i < n; ++i)
            if (p.leaf_of_cell[i] == l)
                for (int64_t t = 0; t < d; ++t) mean[t] += x[i * d + t];
        for (int64_t t = 0; t < d; ++t)
            EXPECT_NEAR(p.leaf_centroids[l * d + t], mean[t] / double(p.leaf_sizes[l]), 1e-12);
    }
}

INSTANTIATE_TEST_SUITE_P(Ward, PlantedRegions, ::testing::Values(2, 5, 8, 11));

}  // namespace
