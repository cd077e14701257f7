// Parity of the dense CRF with pydensecrf (float32) and of the cluster unary
// with the reference script, on the fixtures of scripts/fixtures/densecrf.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/densecrf/cluster_unary.hpp"
#include "cluster/densecrf/densecrf.hpp"
#include "tolerance.hpp"

namespace zgseg::densecrf {
namespace {

const std::filesystem::path kDir = std::filesystem::path(ZGSEG_TEST_DATA) / "densecrf";

// Tolerances: pydensecrf evaluates exp with Eigen's SSE polynomial and sums
// with 4-wide packets; we use std::exp and a sequential sum. These ~1-ulp
// differences grow through 10 mean-field iterations with weights up to 100.
constexpr double kQTolerance = 2e-4;
// A label may differ only where pydensecrf's own top-2 marginals are closer than this.
constexpr double kTieMargin = 1e-3;

template <typename T>
std::vector<T> read_binary(const std::string& name, std::size_t count) {
    std::ifstream in(kDir / name, std::ios::binary);
    if (!in) throw std::runtime_error("missing fixture " + (kDir / name).string());
    std::vector<T> data(count);
    in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(count * sizeof(T)));
    if (in.gcount() != static_cast<std::streamsize>(count * sizeof(T)) || in.peek() != EOF)
        throw std::runtime_error("fixture " + name + " does not hold " + std::to_string(count) + " values");
    return data;
}

nlohmann::json manifest() {
    std::ifstream in(kDir / "manifest.json");
    return nlohmann::json::parse(in);
}

Normalization parse_normalization(const std::string& s) {
    if (s == "symmetric") return Normalization::Symmetric;
    if (s == "after") return Normalization::After;
    if (s == "before") return Normalization::Before;
    if (s == "none") return Normalization::None;
    throw std::runtime_error("unknown normalisation " + s);
}

// DenseCRF2D + addPairwiseGaussian + addPairwiseBilateral with any normalisation.
std::vector<float> run_case(const nlohmann::json& c, const std::vector<float>& unary, const std::vector<uint8_t>& rgb) {
    const int h = c["height"], w = c["width"], k = c["labels"], iterations = c["iterations"];
    const auto& g = c["gaussian"];
    const auto& b = c["bilateral"];
    const Normalization norm = parse_normalization(c["normalization"]);
    if (norm == Normalization::Symmetric) {  // the public entry point
        CrfParams p{g["sxy"], g["compat"], b["sxy"], b["srgb"], b["compat"], iterations};
        return dense_crf(unary.data(), k, rgb.data(), h, w, p).q;
    }
    const int n = h * w;
    DenseCrf crf(n, k);
    crf.set_unary_energy(unary.data());
    const float gs = g["sxy"], bs = b["sxy"], br = b["srgb"];
    crf.add_pairwise(PairwiseTerm(DenseKernel(gaussian_features(w, h, gs, gs), n, 2, norm),
                                  PottsCompatibility(g["compat"].get<float>())));
    crf.add_pairwise(PairwiseTerm(DenseKernel(bilateral_features(rgb.data(), w, h, bs, bs, br, br, br), n, 5, norm),
                                  PottsCompatibility(b["compat"].get<float>())));
    return crf.inference(iterations);
}

TEST(DenseCrfParity, MarginalsAndLabelsMatchPydensecrf) {
    const nlohmann::json m = manifest();
    ASSERT_GE(m["cases"].size(), 5u);
    for (const auto& c : m["cases"]) {
        const std::string name = c["name"];
        const int h = c["height"], w = c["width"], k = c["labels"];
        const std::size_t n = static_cast<std::size_t>(h) * w;
        const auto rgb = read_binary<uint8_t>(name + ".rgb", n * 3);
        const auto unary = read_binary<float>(name + ".unary.f32", n * k);
        const auto q_ref = read_binary<float>(name + ".q.f32", n * k);

        const std::vector<float> q = run_case(c, unary, rgb);
        const std::vector<int32_t> labels = argmax_rows(q, k);
        const std::vector<int32_t> labels_ref = argmax_rows(q_ref, k);

        double max_diff = 0.0;
        for (std::size_t i = 0; i < q.size(); ++i)
            max_diff = std::max(max_diff, static_cast<double>(std::fabs(q[i] - q_ref[i])));
        std::size_t equal = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (labels[i] == labels_ref[i]) {
                ++equal;
                continue;
            }
            const double margin = std::fabs(q_ref[i * k + labels_ref[i]] - q_ref[i * k + labels[i]]);
            EXPECT_LT(margin, kTieMargin) << name << ": label differs at pixel " << i << " without a near tie";
        }
        std::cout << name << " (" << h << "x" << w << ", K=" << k << ", " << c["normalization"].get<std::string>()
                  << "): Q max abs diff " << max_diff << ", labels equal " << equal << "/" << n << " ("
                  << 100.0 * equal / n << "%)\n";
        EXPECT_LT(max_diff, kQTolerance) << name;
        ::testing::Test::RecordProperty(name + "_q_max_abs_diff", std::to_string(max_diff));
    }
}

TEST(DenseCrfParity, ClusterUnaryMatchesReferenceScript) {
    const nlohmann::json m = manifest();
    int checked = 0;
    for (const auto& c : m["cases"]) {
        if (!c.contains("cluster")) continue;
        const std::string name = c["name"];
        const int h = c["height"], w = c["width"], k = c["labels"];
        const int gh = c["cluster"]["grid_h"], gw = c["cluster"]["grid_w"], dim = c["cluster"]["dim"];
        const auto desc = read_binary<float>(name + ".desc.f32", static_cast<std::size_t>(gh) * gw * dim);
        const auto centroids = read_binary<double>(name + ".centroids.f64", static_cast<std::size_t>(k) * dim);
        const auto expected = read_binary<float>(name + ".unary.f32", static_cast<std::size_t>(h) * w * k);

        const std::vector<float> unary = cluster_unary(desc.data(), gh, gw, dim, centroids.data(), k, h, w);
        ASSERT_EQ(unary.size(), expected.size());
        double max_value = -1.0, magnitude = 0.0;
        for (std::size_t i = 0; i < unary.size(); ++i) {
            max_value = std::max(max_value, static_cast<double>(unary[i]));
            magnitude = std::max(magnitude, static_cast<double>(std::fabs(expected[i])));
        }
        // float64 distances summed in another order (≪ float32's rounding), then each
        // cast to float32: one rounding of each, so 2 u of the energies' size.
        const zgseg::testing::Tolerance tolerance{2 * zgseg::testing::kFloat32Roundoff * magnitude,
                                                  2 * zgseg::testing::kFloat32Roundoff, "one float32 rounding each side"};
        const auto c = zgseg::testing::closeness(std::vector<double>(unary.begin(), unary.end()),
                                                 std::vector<double>(expected.begin(), expected.end()), tolerance);
        zgseg::testing::print_closeness(name + ": cluster unary", c, tolerance);
        EXPECT_TRUE(c.ok()) << name << ": max abs diff " << c.max_abs_diff;
        EXPECT_EQ(max_value, 0.0);  // energies are distances minus the per-cell maximum
        ++checked;
    }
    EXPECT_GE(checked, 1);
}

TEST(DenseCrfParity, NearestIndicesMatchTorchUpsample) {
    const nlohmann::json m = manifest();
    ASSERT_FALSE(m["nearest"].empty());
    for (const auto& e : m["nearest"]) {
        const int in = e["in"], out = e["out"];
        const std::vector<int> expected = e["index"];
        ASSERT_EQ(static_cast<int>(expected.size()), out);
        int mismatches = 0;
        for (int d = 0; d < out; ++d) mismatches += nearest_source_index(d, in, out) != expected[d];
        EXPECT_EQ(mismatches, 0) << in << " -> " << out;
    }
}

TEST(DenseCrfParity, UpsampleNearestCopiesWholeLabelVectors) {
    // 2x3 grid with 2 channels -> 3x4; each output takes the (floor(y*2/3), floor(x*3/4)) cell.
    const std::vector<float> grid = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};  // (2, 3, 2)
    const std::vector<float> up = upsample_nearest(grid, 2, 3, 2, 3, 4);
    ASSERT_EQ(up.size(), 24u);
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 4; ++x)
            for (int c = 0; c < 2; ++c)
                EXPECT_EQ(up[(y * 4 + x) * 2 + c], grid[((y * 2 / 3) * 3 + x * 3 / 4) * 2 + c]);
}

}  // namespace
}  // namespace zgseg::densecrf
