// Stage 4 merging on synthetic trees with a scripted "captioner": which
// siblings merge, the reference's order of operations, and the number of
// feature computations (= leaves + accepted merges).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "stages/merging/merge_tree.hpp"

using namespace zgseg;

namespace {

// Features scripted per leaf set: every node's image and text embedding is a
// unit vector along an axis chosen by the test; identical axes → cosine 1.
struct ScriptedFeatures {
    std::map<std::vector<int32_t>, int> axis;  // sorted leaf set → axis
    int default_axis_base = 100;               // unscripted sets get their own axis
    std::vector<std::vector<int32_t>> calls;   // every leaf set computed, in order

    NodeFeaturesFn fn() {
        return [this](const std::vector<std::vector<int32_t>>& sets) {
            std::vector<std::pair<std::vector<float>, Caption>> out;
            for (auto set : sets) {
                std::sort(set.begin(), set.end());
                calls.push_back(set);
                int a = axis.count(set) ? axis[set] : default_axis_base + static_cast<int>(calls.size());
                std::vector<float> v(256, 0.f);
                v[a] = 1.f;
                Caption c;
                c.label = "axis" + std::to_string(a);
                c.text_embedding = v;
                out.push_back({v, c});
            }
            return out;
        };
    }
};

std::set<int64_t> final_ids(const MergeOutcome& m) {
    std::set<int64_t> ids;
    for (const auto& n : m.nodes)
        if (n.final) ids.insert(n.heap_id);
    return ids;
}

}  // namespace

// Tree: 0 → (1, 2); 1 → (3, 4); 2 → (5, 6). Leaves 3, 4, 5, 6 (in that leaf order).
const std::vector<int64_t> kFourLeaves = {3, 4, 5, 6};

TEST(MergeTree, AllMerge) {
    ScriptedFeatures f;
    f.axis = {{{0}, 1}, {{1}, 1}, {{2}, 1}, {{3}, 1}, {{0, 1}, 1}, {{2, 3}, 1}, {{0, 1, 2, 3}, 1}};
    const auto m = merge_tree(kFourLeaves, f.fn(), MergeParams{});
    EXPECT_EQ(final_ids(m), (std::set<int64_t>{0}));
    EXPECT_EQ(m.feature_calls, 4 + 3);
    EXPECT_EQ(f.calls.size(), 7u);
    // Reference order: the stack pops leaf 6, then 5 → push parent 2 → pop 2
    // (merge), then leaf 4, leaf 3 → push 1 → merge → push 0 → merge.
    ASSERT_EQ(m.nodes.size(), 7u);
    EXPECT_EQ(m.nodes[4].heap_id, 2);
    EXPECT_EQ(m.nodes[5].heap_id, 1);
    EXPECT_EQ(m.nodes[6].heap_id, 0);
    EXPECT_TRUE(m.nodes[6].merged);
    EXPECT_EQ(m.nodes[6].leaves, (std::vector<int32_t>{0, 1, 2, 3}));
    EXPECT_EQ(m.nodes[6].segment_id, 1);
}

TEST(MergeTree, NoneMerge) {
    ScriptedFeatures f;  // every set on its own axis: cosine 0 < 0.8
    const auto m = merge_tree(kFourLeaves, f.fn(), MergeParams{});
    EXPECT_EQ(final_ids(m), (std::set<int64_t>{3, 4, 5, 6}));
    EXPECT_EQ(m.feature_calls, 4);
    EXPECT_EQ(m.nodes.size(), 4u);
    // Segment ids in reverse insertion order: inserted 6, 5, 4, 3 → ids 4, 3, 2, 1.
    std::map<int64_t, int> ids;
    for (const auto& n : m.nodes) ids[n.heap_id] = n.segment_id;
    EXPECT_EQ(ids, (std::map<int64_t, int>{{3, 1}, {4, 2}, {5, 3}, {6, 4}}));
}

TEST(MergeTree, OneBranchStops) {
    // 5 and 6 merge into 2; 3 and 4 do not merge, so 1 is never formed and
    // the root is never considered even though 2's features match 1's would.
    ScriptedFeatures f;
    f.axis = {{{0}, 1}, {{1}, 2}, {{2}, 3}, {{3}, 3}, {{2, 3}, 4}};
    const auto m = merge_tree(kFourLeaves, f.fn(), MergeParams{});
    EXPECT_EQ(final_ids(m), (std::set<int64_t>{2, 3, 4}));
    EXPECT_EQ(m.feature_calls, 4 + 1);
}

TEST(MergeTree, ThresholdAndWeightsAreUsed) {
    // Image cosine 1, text cosine 0: similarity = image_weight.
    ScriptedFeatures f;
    f.axis = {{{0}, 1}, {{1}, 1}};
    auto fn = [&](const std::vector<std::vector<int32_t>>& sets) {
        auto out = f.fn()(sets);
        for (size_t i = 0; i < out.size(); ++i) {
            std::vector<float> t(256, 0.f);
            t[10 + f.calls.size() - out.size() + i] = 1.f;  // distinct text axes
            out[i].second.text_embedding = t;
        }
        return out;
    };
    MergeParams p;
    p.image_weight = 0.5;  // similarity 0.5 < 0.8
    EXPECT_EQ(final_ids(merge_tree({1, 2}, fn, p)), (std::set<int64_t>{1, 2}));
    p.image_weight = 0.85;  // similarity 0.85 ≥ 0.8
    EXPECT_EQ(final_ids(merge_tree({1, 2}, fn, p)), (std::set<int64_t>{0}));
    p.enabled = false;
    EXPECT_EQ(final_ids(merge_tree({1, 2}, fn, p)), (std::set<int64_t>{1, 2}));
}

TEST(MergeTree, LoneLeafWhoseSiblingWasPruned) {
    // Leaves 1 (sibling 2 was split further into 5, 6) — 1 never has a final
    // sibling until 2 is formed; here 5 and 6 do not merge, so 1 stays alone.
    ScriptedFeatures f;
    f.axis = {{{0}, 1}, {{1}, 1}, {{2}, 2}};
    const auto m = merge_tree({1, 5, 6}, f.fn(), MergeParams{});
    EXPECT_EQ(final_ids(m), (std::set<int64_t>{1, 5, 6}));
    EXPECT_EQ(m.feature_calls, 3);
    // When 5 and 6 do merge into 2, 1 and 2 are then compared.
    ScriptedFeatures g;
    g.axis = {{{0}, 1}, {{1}, 2}, {{2}, 2}, {{1, 2}, 1}, {{0, 1, 2}, 1}};
    const auto m2 = merge_tree({1, 5, 6}, g.fn(), MergeParams{});
    EXPECT_EQ(final_ids(m2), (std::set<int64_t>{0}));
    EXPECT_EQ(m2.feature_calls, 3 + 2);
}

TEST(MergeTree, CallsEqualLeavesPlusAcceptedMerges) {
    ScriptedFeatures f;
    f.axis = {{{0}, 1}, {{1}, 1}, {{2}, 2}, {{3}, 3}};
    const auto m = merge_tree(kFourLeaves, f.fn(), MergeParams{});
    int merged = 0;
    for (const auto& n : m.nodes) merged += n.merged;
    EXPECT_EQ(m.feature_calls, 4 + merged);
    EXPECT_EQ(static_cast<int>(f.calls.size()), m.feature_calls);
    EXPECT_EQ(merged, 1);
}
