// prune_tree parity with a literal, mask-based Python re-implementation of
// the reference's cut and pruning (scripts/fixtures/prune.py; scipy's ward
// tree, sklearn's cosine) for several thresholds and split counts:
// leaf of every cell and leaf heap ids exactly, split cosines and leaf
// centroids within 1e-12 absolute.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cluster/prune.hpp"
#include "core/safetensors.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(ZGSEG_TEST_DATA);
constexpr double kTolerance = 1e-12;

std::vector<double> as_doubles(const zgseg::TensorView& t) {
    std::vector<double> out(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = zgseg::element_as_double(t, i);
    return out;
}

const zgseg::TensorView& require(const zgseg::SafetensorsFile& f, const std::string& name) {
    const zgseg::TensorView* t = f.find(name);
    if (!t) throw std::runtime_error(f.path().string() + " has no tensor " + name);
    return *t;
}

class PruneReference : public ::testing::TestWithParam<std::string> {};

TEST_P(PruneReference, MatchesMaskBasedReimplementation) {
    const auto ward_file = zgseg::SafetensorsFile::open(kData / "ward" / (GetParam() + ".safetensors"));
    const auto expected = zgseg::SafetensorsFile::open(kData / "prune" / (GetParam() + ".safetensors"));
    const zgseg::TensorView& xt = require(ward_file, "x");
    const int64_t n = xt.shape[0], d = xt.shape[1];
    std::vector<float> x(static_cast<size_t>(n * d));
    for (int64_t i = 0; i < n * d; ++i) x[i] = static_cast<float>(zgseg::element_as_double(xt, i));
    const std::vector<double> z = as_doubles(require(ward_file, "linkage"));
    std::vector<zgseg::WardMerge> tree(static_cast<size_t>(n - 1));
    for (int64_t r = 0; r < n - 1; ++r)
        tree[r] = {int64_t(z[4 * r]), int64_t(z[4 * r + 1]), z[4 * r + 2], int64_t(z[4 * r + 3])};

    const std::vector<double> thresholds = as_doubles(require(expected, "thresholds"));
    const std::vector<double> max_splits = as_doubles(require(expected, "max_splits"));
    const std::vector<double> cosines = as_doubles(require(expected, "cosines"));

    double max_cos = 0, max_centroid = 0;
    int combos = 0, centroid_combos = 0;
    for (double ms : max_splits) {
        const int m = static_cast<int>(ms);
        for (size_t t = 0; t < thresholds.size(); ++t) {
            const std::string key = std::to_string(m) + "/" + std::to_string(t);
            zgseg::PruneParams params;
            params.max_splits = m;
            params.threshold = thresholds[t];
            const auto p = zgseg::prune_tree(tree, x.data(), n, d, params);
            ++combos;

            const std::vector<double> cells = as_doubles(require(expected, "leaf_of_cell/" + key));
            const std::vector<double> ids = as_doubles(require(expected, "leaf_heap_ids/" + key));
            ASSERT_EQ(static_cast<size_t>(p.leaf_count()), ids.size()) << key;
            for (size_t l = 0; l < ids.size(); ++l) EXPECT_EQ(p.leaf_heap_ids[l], int64_t(ids[l])) << key;
            int64_t wrong_cells = 0;
            for (int64_t i = 0; i < n; ++i) wrong_cells += p.leaf_of_cell[i] != int32_t(cells[i]);
            EXPECT_EQ(wrong_cells, 0) << key;

            for (size_t k = 0; k < p.splits.size(); ++k)
                max_cos = std::max(max_cos, std::fabs(p.splits[k].cosine - cosines.at(k)));
            if (const zgseg::TensorView* c = expected.find("leaf_centroids/" + key)) {
                const std::vector<double> centroids = as_doubles(*c);
                ASSERT_EQ(centroids.size(), p.leaf_centroids.size()) << key;
                for (size_t i = 0; i < centroids.size(); ++i)
                    max_centroid = std::max(max_centroid, std::fabs(centroids[i] - p.leaf_centroids[i]));
                ++centroid_combos;
            }
        }
    }
    std::cout << GetParam() << ": " << combos << " (max_splits, threshold) settings, max |cos diff| " << max_cos
              << ", max |centroid diff| " << max_centroid << " over " << centroid_combos << " settings\n";
    EXPECT_LE(max_cos, kTolerance);
    EXPECT_LE(max_centroid, kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PruneReference,
                         ::testing::Values("tiny9", "random_d16", "blobs_d32", "dinolike_d384"));

}  // namespace
