// Ward linkage parity with scipy.cluster.hierarchy.ward on committed data
// sets (scripts/fixtures/ward.py): same merge pairs, same sizes, same order
// (so the same cluster ids), heights within a relative 1e-12 (scipy updates
// distances by Lance-Williams, we compute them from centroids; both are exact
// up to rounding, observed ~1e-15).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cluster/ward.hpp"
#include "core/safetensors.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(ZGSEG_TEST_DATA) / "ward";
constexpr double kHeightTolerance = 1e-12;  // relative

struct Dataset {
    int64_t n = 0, d = 0;
    std::vector<float> x;        // (n, d)
    std::vector<double> linkage;  // (n - 1, 4)
};

Dataset load(const std::string& name) {
    const auto file = zgseg::SafetensorsFile::open(kData / (name + ".safetensors"));
    const zgseg::TensorView* x = file.find("x");
    const zgseg::TensorView* z = file.find("linkage");
    if (!x || !z || x->shape.size() != 2) throw std::runtime_error("bad fixture " + name);
    Dataset ds;
    ds.n = x->shape[0];
    ds.d = x->shape[1];
    ds.x.resize(static_cast<size_t>(x->numel()));
    for (int64_t i = 0; i < x->numel(); ++i) ds.x[i] = static_cast<float>(zgseg::element_as_double(*x, i));
    ds.linkage.resize(static_cast<size_t>(z->numel()));
    for (int64_t i = 0; i < z->numel(); ++i) ds.linkage[i] = zgseg::element_as_double(*z, i);
    return ds;
}

// Compares every row; returns the max relative height difference.
double expect_same_linkage(const Dataset& ds, const std::vector<zgseg::WardMerge>& got, const std::string& what) {
    EXPECT_EQ(static_cast<int64_t>(got.size()), ds.n - 1) << what;
    double max_rel = 0;
    int64_t mismatches = 0;
    for (int64_t i = 0; i < ds.n - 1 && i < static_cast<int64_t>(got.size()); ++i) {
        const double* ref = &ds.linkage[i * 4];
        const bool same = got[i].a == static_cast<int64_t>(ref[0]) && got[i].b == static_cast<int64_t>(ref[1]) &&
                          got[i].count == static_cast<int64_t>(ref[3]);
        if (!same && mismatches++ < 3)
            ADD_FAILURE() << what << " row " << i << ": got (" << got[i].a << ", " << got[i].b << ", "
                          << got[i].count << ") scipy (" << ref[0] << ", " << ref[1] << ", " << ref[3] << ")";
        const double scale = std::max(std::fabs(ref[2]), 1e-300);
        max_rel = std::max(max_rel, std::fabs(got[i].height - ref[2]) / scale);
        if (ref[2] == 0) max_rel = std::max(max_rel, std::fabs(got[i].height));
    }
    EXPECT_EQ(mismatches, 0) << what;
    EXPECT_LE(max_rel, kHeightTolerance) << what;
    std::cout << what << ": n=" << ds.n << " d=" << ds.d << " max rel height diff " << max_rel << "\n";
    return max_rel;
}

class WardScipy : public ::testing::TestWithParam<std::string> {};

TEST_P(WardScipy, DefaultOptionsMatchScipy) {
    const Dataset ds = load(GetParam());
    zgseg::WardStats stats;
    const auto z = zgseg::ward_linkage(ds.x.data(), ds.n, ds.d, {}, &stats);
    expect_same_linkage(ds, z, GetParam());
    std::cout << "  queries " << stats.queries << ", rescans " << stats.full_scans << "\n";
}

// Short lists force many rescans and bound-based answers; verify mode checks
// every answer against a brute-force scan.
TEST_P(WardScipy, ShortListsWithVerificationMatchScipy) {
    const Dataset ds = load(GetParam());
    for (int list_size : {1, 3, 8}) {
        zgseg::WardOptions options;
        options.neighbour_list_size = list_size;
        options.verify_neighbours = true;
        const auto z = zgseg::ward_linkage(ds.x.data(), ds.n, ds.d, options);
        expect_same_linkage(ds, z, GetParam() + " list " + std::to_string(list_size));
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, WardScipy,
                         ::testing::Values("tiny2", "tiny3", "tiny9", "random_d16", "blobs_d32", "dinolike_d384",
                                           "pairs_d8"));

}  // namespace
