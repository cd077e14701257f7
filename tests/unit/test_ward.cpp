// ward_linkage: hand-checked small cases, invariance of the result to the
// neighbour-list size (every list-based answer also checked against brute
// force), tree validity, and input errors. Parity with scipy itself is in
// golden/test_ward_scipy.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <vector>

#include "cluster/ward.hpp"
#include "unit/ward_test_data.hpp"
#include "zgseg/error.hpp"

using zgseg::WardMerge;

namespace {

std::vector<WardMerge> run(const std::vector<float>& x, int64_t d, int list_size = 32, bool verify = false) {
    zgseg::WardOptions options;
    options.neighbour_list_size = list_size;
    options.verify_neighbours = verify;
    return zgseg::ward_linkage(x.data(), static_cast<int64_t>(x.size()) / d, d, options);
}

TEST(Ward, TwoPointsMergeAtTheirDistance) {
    const std::vector<float> x = {0.f, 0.f, 3.f, 4.f};
    const auto z = run(x, 2);
    ASSERT_EQ(z.size(), 1u);
    EXPECT_EQ(z[0].a, 0);
    EXPECT_EQ(z[0].b, 1);
    EXPECT_EQ(z[0].count, 2);
    EXPECT_DOUBLE_EQ(z[0].height, 5.0);
}

// Points 0, 1, 3 on a line: {0,1} at 1, then Lance-Williams
// sqrt(2/3 * 3^2 + 2/3 * 2^2 - 1/3 * 1^2) = sqrt(25/3) into id 3 + 1 = 4.
TEST(Ward, ThreePointsOnALine) {
    const std::vector<float> x = {3.f, 0.f, 1.f};
    const auto z = run(x, 1);
    ASSERT_EQ(z.size(), 2u);
    EXPECT_EQ(z[0].a, 1);
    EXPECT_EQ(z[0].b, 2);
    EXPECT_DOUBLE_EQ(z[0].height, 1.0);
    EXPECT_EQ(z[1].a, 0);
    EXPECT_EQ(z[1].b, 3);
    EXPECT_EQ(z[1].count, 3);
    EXPECT_NEAR(z[1].height, std::sqrt(25.0 / 3.0), 1e-14);
}

void expect_valid_tree(const std::vector<WardMerge>& z, int64_t n) {
    ASSERT_EQ(static_cast<int64_t>(z.size()), n - 1);
    std::vector<int64_t> count(static_cast<size_t>(2 * n - 1), 1);
    std::vector<bool> used(static_cast<size_t>(2 * n - 1), false);
    for (int64_t r = 0; r < n - 1; ++r) {
        ASSERT_LT(z[r].a, z[r].b) << "row " << r;
        ASSERT_LT(z[r].b, n + r) << "row " << r;
        ASSERT_FALSE(used[z[r].a] || used[z[r].b]) << "row " << r << " reuses a cluster";
        used[z[r].a] = used[z[r].b] = true;
        count[n + r] = count[z[r].a] + count[z[r].b];
        EXPECT_EQ(z[r].count, count[n + r]) << "row " << r;
        if (r > 0) {
            EXPECT_GE(z[r].height, z[r - 1].height) << "row " << r;
        }
    }
    EXPECT_EQ(z.back().count, n);
}

struct Case {
    const char* name;
    std::vector<float> x;
    int64_t d;
};

std::vector<Case> cases() {
    return {
        {"isotropic d=1", ward_test::random_unit(300, 1, 11), 1},  // +-1 only: massive exact ties
        {"isotropic d=5", ward_test::random_unit(700, 5, 12), 5},
        {"isotropic d=9", ward_test::random_unit(600, 9, 13), 9},
        {"isotropic d=64", ward_test::random_unit(500, 64, 14), 64},
        {"blobs d=20", ward_test::blobs(800, 20, 7, 0.4f, 15), 20},
        {"blobs d=131", ward_test::blobs(400, 131, 4, 0.8f, 16), 131},
    };
}

// Any list size gives the same merges; verify mode cross-checks every
// nearest-neighbour answer with a brute-force scan.
TEST(Ward, ResultDoesNotDependOnListSize) {
    for (const Case& c : cases()) {
        if (c.d == 1) continue;  // ties: covered below
        const int64_t n = static_cast<int64_t>(c.x.size()) / c.d;
        const auto reference = run(c.x, c.d);
        expect_valid_tree(reference, n);
        for (int list_size : {1, 2, 5, 16, 100}) {
            const auto z = run(c.x, c.d, list_size, true);
            ASSERT_EQ(z.size(), reference.size());
            for (size_t r = 0; r < z.size(); ++r) {
                ASSERT_EQ(z[r].a, reference[r].a) << c.name << " list " << list_size << " row " << r;
                ASSERT_EQ(z[r].b, reference[r].b) << c.name << " list " << list_size << " row " << r;
                ASSERT_EQ(z[r].height, reference[r].height) << c.name << " list " << list_size << " row " << r;
            }
        }
    }
}

// Splitting the k-NN search over threads changes candidate lists at most in
// ties; the merges stay identical.
TEST(Ward, ResultDoesNotDependOnThreads) {
    const std::vector<float> x = ward_test::blobs(2000, 24, 9, 0.5f, 31);
    zgseg::WardOptions options;
    const auto reference = zgseg::ward_linkage(x.data(), 2000, 24, options);
    for (int threads : {2, 3, 7}) {
        options.threads = threads;
        options.verify_neighbours = threads == 2;
        const auto z = zgseg::ward_linkage(x.data(), 2000, 24, options);
        ASSERT_EQ(z.size(), reference.size());
        for (size_t r = 0; r < z.size(); ++r) {
            ASSERT_EQ(z[r].a, reference[r].a) << threads << " threads, row " << r;
            ASSERT_EQ(z[r].b, reference[r].b) << threads << " threads, row " << r;
            ASSERT_EQ(z[r].height, reference[r].height) << threads << " threads, row " << r;
        }
    }
}

// With exact ties the answer follows scipy's rule (nearest, then smallest
// index, chain predecessor preferred); verify mode checks that rule.
TEST(Ward, TiesAreResolvedConsistently) {
    const Case c = cases()[0];
    const int64_t n = static_cast<int64_t>(c.x.size());
    const auto z = run(c.x, 1, 4, true);
    expect_valid_tree(z, n);
    int64_t zero_height = 0;
    for (const WardMerge& m : z) zero_height += m.height == 0;
    EXPECT_EQ(zero_height, n - 2);  // everything but the final +1/-1 merge
}

TEST(Ward, DuplicatePointsMergeFirstAtZero) {
    std::vector<float> x = ward_test::random_unit(50, 6, 21);
    x.insert(x.end(), x.begin(), x.begin() + 6 * 10);  // rows 50..59 repeat rows 0..9
    const auto z = run(x, 6, 32, true);
    expect_valid_tree(z, 60);
    for (int r = 0; r < 10; ++r) {
        EXPECT_EQ(z[r].height, 0.0);
        EXPECT_EQ(z[r].b - z[r].a, 50);
    }
    EXPECT_GT(z[10].height, 0.0);
}

TEST(Ward, RejectsBadInput) {
    const std::vector<float> one = {1.f, 2.f};
    EXPECT_THROW(zgseg::ward_linkage(one.data(), 1, 2), zgseg::Error);
    EXPECT_THROW(zgseg::ward_linkage(one.data(), 0, 2), zgseg::Error);
    EXPECT_THROW(zgseg::ward_linkage(one.data(), 2, 0), zgseg::Error);
    EXPECT_THROW(zgseg::ward_linkage(nullptr, 2, 1), zgseg::Error);
    std::vector<float> bad = {0.f, 1.f, std::numeric_limits<float>::quiet_NaN(), 2.f};
    EXPECT_THROW(zgseg::ward_linkage(bad.data(), 2, 2), zgseg::Error);
    bad[2] = std::numeric_limits<float>::infinity();
    EXPECT_THROW(zgseg::ward_linkage(bad.data(), 2, 2), zgseg::Error);
    zgseg::WardOptions options;
    options.neighbour_list_size = 0;
    const std::vector<float> ok = {0.f, 1.f, 2.f};
    EXPECT_THROW(zgseg::ward_linkage(ok.data(), 3, 1, options), zgseg::Error);
    options.neighbour_list_size = 8;
    options.threads = 0;
    EXPECT_THROW(zgseg::ward_linkage(ok.data(), 3, 1, options), zgseg::Error);
}

// The documented allocation at the pipeline's size stays far below one
// float32 condensed distance matrix (and scipy's float64 one).
TEST(Ward, DocumentedMemoryIsBelowACondensedMatrix) {
    const int64_t n = 17876, d = 384;
    const int64_t bytes = zgseg::ward_linkage_bytes(n, d);
    const int64_t condensed_f32 = n * (n - 1) / 2 * 4;
    std::cout << "ward_linkage_bytes(17876, 384) = " << bytes / 1e6 << " MB; float32 condensed matrix "
              << condensed_f32 / 1e6 << " MB\n";
    EXPECT_LT(bytes * 4, condensed_f32);
}

}  // namespace
