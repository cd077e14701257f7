// Dense CRF building blocks: kernel features, the four normalisations, Potts
// compatibility, softmax/argmax, the mean-field loop, error handling, and the
// time of the project-sized CRF (224x334, K = 11, 10 iterations).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <random>
#include <vector>

#include "cluster/densecrf/densecrf.hpp"
#include "zgseg/error.hpp"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace zgseg::densecrf {
namespace {

std::vector<float> random_values(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = dist(gen);
    return v;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
    return s;
}

std::vector<uint8_t> random_image(int h, int w, unsigned seed) {
    std::mt19937 gen(seed);
    std::vector<uint8_t> rgb(static_cast<std::size_t>(h) * w * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c)  // two flat halves plus noise: real edges for the bilateral term
                rgb[(y * w + x) * 3 + c] = static_cast<uint8_t>((x < w / 2 ? 60 : 190) + c * 15 + gen() % 12);
    return rgb;
}

TEST(DenseCrfFeatures, GaussianAndBilateralMatchPydensecrfLayout) {
    const std::vector<float> g = gaussian_features(3, 2, 2.0f, 4.0f);  // (6, 2)
    ASSERT_EQ(g.size(), 12u);
    EXPECT_FLOAT_EQ(g[2 * 5 + 0], 2.0f / 2.0f);  // pixel (x=2, y=1)
    EXPECT_FLOAT_EQ(g[2 * 5 + 1], 1.0f / 4.0f);
    const std::vector<uint8_t> rgb = {10, 20, 30, 40, 50, 60};  // 1x2 image
    const std::vector<float> b = bilateral_features(rgb.data(), 2, 1, 5.0f, 5.0f, 13.0f, 13.0f, 13.0f);
    ASSERT_EQ(b.size(), 10u);
    const float expected[] = {1.0f / 5, 0.0f, 40.0f / 13, 50.0f / 13, 60.0f / 13};
    for (int k = 0; k < 5; ++k) EXPECT_FLOAT_EQ(b[5 + k], expected[k]);
    EXPECT_THROW(gaussian_features(0, 2, 1.0f, 1.0f), Error);
    EXPECT_THROW(bilateral_features(rgb.data(), 2, 1, 5.0f, 5.0f, 0.0f, 13.0f, 13.0f), Error);
}

class KernelTest : public ::testing::Test {
protected:
    static constexpr int kH = 12, kW = 15, kN = kH * kW;
    std::vector<uint8_t> rgb = random_image(kH, kW, 5);
    std::vector<float> features = bilateral_features(rgb.data(), kW, kH, 3.0f, 3.0f, 20.0f, 20.0f, 20.0f);
    LatticeWorkspace ws;

    std::vector<float> lattice_of(const DenseKernel& k, const std::vector<float>& v, int vs) {
        std::vector<float> out(v.size());
        k.lattice().compute(out.data(), v.data(), vs);
        return out;
    }
};

TEST_F(KernelTest, SymmetricNormalisationIsInverseSqrtOfFilteredOnes) {
    DenseKernel kernel(features, kN, 5, Normalization::Symmetric);
    const std::vector<float> d = lattice_of(kernel, std::vector<float>(kN, 1.0f), 1);
    for (int i = 0; i < kN; ++i)
        EXPECT_FLOAT_EQ(kernel.normalisation()[i], static_cast<float>(1.0 / std::sqrt(d[i] + 1e-20)));

    // K v = n ⊙ F(n ⊙ v), row by row, for a 3-channel value.
    const std::vector<float> v = random_values(kN * 3, 6);
    std::vector<float> scaled(v.size()), out(v.size());
    for (int i = 0; i < kN; ++i)
        for (int c = 0; c < 3; ++c) scaled[i * 3 + c] = v[i * 3 + c] * kernel.normalisation()[i];
    std::vector<float> expected = lattice_of(kernel, scaled, 3);
    for (int i = 0; i < kN; ++i)
        for (int c = 0; c < 3; ++c) expected[i * 3 + c] *= kernel.normalisation()[i];
    kernel.apply(out.data(), v.data(), 3, ws);
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(out[i], expected[i]) << i;

    // In place works too (pydensecrf filters in place).
    std::vector<float> inplace = v;
    kernel.apply(inplace.data(), inplace.data(), 3, ws);
    EXPECT_EQ(inplace, out);
}

TEST_F(KernelTest, AfterNormalisationPreservesConstants) {
    DenseKernel kernel(features, kN, 5, Normalization::After);
    std::vector<float> c(kN * 2, 0.0f), out(kN * 2);
    for (int i = 0; i < kN; ++i) c[i * 2] = 1.0f, c[i * 2 + 1] = -2.5f;
    kernel.apply(out.data(), c.data(), 2, ws);
    double worst = 0.0;
    for (std::size_t i = 0; i < c.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(out[i] - c[i])));
    std::cout << "NORMALIZE_AFTER on constants: max abs diff " << worst << "\n";
    EXPECT_LT(worst, 1e-5);
}

TEST_F(KernelTest, TransposesAreAdjoint) {
    const std::vector<float> a = random_values(kN, 7), b = random_values(kN, 8);
    for (Normalization n : {Normalization::None, Normalization::Before, Normalization::After, Normalization::Symmetric}) {
        DenseKernel kernel(features, kN, 5, n);
        std::vector<float> kb(kN), kta(kN), ka(kN);
        kernel.apply(kb.data(), b.data(), 1, ws);
        kernel.apply_transpose(kta.data(), a.data(), 1, ws);
        kernel.apply(ka.data(), a.data(), 1, ws);
        const double scale = std::sqrt(dot(kb, kb) * dot(a, a));
        const double adjoint_err = std::fabs(dot(a, kb) - dot(kta, b)) / scale;
        const double symmetry_err = std::fabs(dot(a, kb) - dot(ka, b)) / scale;
        std::cout << "normalisation " << static_cast<int>(n) << ": <a,Kb> vs <K'a,b> rel err " << adjoint_err
                  << ", <a,Kb> vs <Ka,b> rel err " << symmetry_err << "\n";
        EXPECT_LT(adjoint_err, 1e-6);
        if (n == Normalization::Symmetric || n == Normalization::None) {
            EXPECT_LT(symmetry_err, 1e-2);
        }
    }
}

TEST_F(KernelTest, PottsNegatesAndScalesTheMessage) {
    PottsCompatibility potts(25.0f);
    std::vector<float> v = {0.5f, -1.0f, 2.0f};
    potts.apply(v.data(), v.size());
    EXPECT_EQ(v, (std::vector<float>{-12.5f, 25.0f, -50.0f}));

    DenseKernel kernel(features, kN, 5);
    PairwiseTerm term(kernel, PottsCompatibility(4.0f));
    const std::vector<float> q = random_values(kN * 3, 9, 0.0f, 1.0f);
    std::vector<float> message(q.size()), filtered(q.size());
    term.apply(message.data(), q.data(), 3, ws);
    kernel.apply(filtered.data(), q.data(), 3, ws);
    for (std::size_t i = 0; i < q.size(); ++i) EXPECT_EQ(message[i], -4.0f * filtered[i]);
}

TEST_F(KernelTest, RejectsMismatchedFeatures) {
    EXPECT_THROW(DenseKernel(features, kN + 1, 5), Error);
    EXPECT_THROW(DenseKernel(features, kN, 0), Error);
}

TEST(DenseCrfSoftmax, NormalisesRowsAndArgmaxTakesFirstOnTies) {
    const std::vector<float> logits = {1.0f, 2.0f, 3.0f, 1000.0f, 1000.0f, -1000.0f};
    std::vector<float> q(6);
    softmax_rows(q.data(), logits.data(), 2, 3);
    const double z = std::exp(-2.0) + std::exp(-1.0) + 1.0;
    EXPECT_NEAR(q[0], std::exp(-2.0) / z, 1e-7);
    EXPECT_NEAR(q[2], 1.0 / z, 1e-7);
    EXPECT_FLOAT_EQ(q[3], 0.5f);  // no overflow: the row maximum is subtracted
    EXPECT_EQ(q[5], 0.0f);
    EXPECT_EQ(argmax_rows(q, 3), (std::vector<int32_t>{2, 0}));
    EXPECT_THROW(argmax_rows(q, 4), Error);
}

TEST(DenseCrfInference, ZeroIterationsOrNoPairwiseGiveSoftmaxOfMinusUnary) {
    const int n = 50, k = 4;
    const std::vector<float> unary = random_values(n * k, 12, -3.0f, 3.0f);
    std::vector<float> minus(unary.size()), expected(unary.size());
    for (std::size_t i = 0; i < unary.size(); ++i) minus[i] = -unary[i];
    softmax_rows(expected.data(), minus.data(), n, k);

    DenseCrf bare(n, k);
    bare.set_unary_energy(unary.data());
    EXPECT_EQ(bare.inference(7), expected);

    const std::vector<uint8_t> rgb = random_image(5, 10, 3);
    const std::vector<float> q0 = dense_crf(unary.data(), k, rgb.data(), 5, 10, CrfParams{1, 25, 5, 13, 100, 0}).q;
    EXPECT_EQ(q0, expected);
}

TEST(DenseCrfInference, SmoothsANoisyLabellingTowardsTheImageRegions) {
    // Left half and right half of the image differ; the unary is weakly right
    // with 30% of pixels flipped. The CRF should recover the halves.
    const int h = 24, w = 32, k = 2;
    const std::vector<uint8_t> rgb = random_image(h, w, 4);
    std::mt19937 gen(13);
    std::vector<float> unary(h * w * k);
    int wrong_before = 0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            int truth = x < w / 2 ? 0 : 1;
            int shown = gen() % 10 < 3 ? 1 - truth : truth;
            wrong_before += shown != truth;
            unary[(y * w + x) * k + shown] = -0.4f;
            unary[(y * w + x) * k + 1 - shown] = 0.0f;
        }
    const CrfResult r = dense_crf(unary.data(), k, rgb.data(), h, w);
    int wrong_after = 0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) wrong_after += r.labels[y * w + x] != (x < w / 2 ? 0 : 1);
    std::cout << "wrong labels before CRF " << wrong_before << ", after " << wrong_after << " of " << h * w << "\n";
    EXPECT_GT(wrong_before, 150);
    EXPECT_LT(wrong_after, 10);
}

#if defined(__SSE2__)
TEST(DenseCrfInference, RestoresTheCallersFloatingPointMode) {
    // Inference flushes subnormals to zero internally; the caller's mode must survive.
    // Only the control bits are compared: the low 6 bits are sticky exception flags.
    const unsigned int control = ~0x3Fu;
    const unsigned int before = _mm_getcsr() & control;
    const std::vector<float> unary = random_values(6 * 7 * 3, 14, -40.0f, 0.0f);
    const std::vector<uint8_t> rgb = random_image(6, 7, 15);
    const CrfResult r = dense_crf(unary.data(), 3, rgb.data(), 6, 7);
    EXPECT_EQ(_mm_getcsr() & control, before);
    EXPECT_EQ(r.labels.size(), 42u);
}
#endif

TEST(DenseCrfInference, RejectsBadInput) {
    EXPECT_THROW(DenseCrf(0, 3), Error);
    EXPECT_THROW(DenseCrf(5, 0), Error);
    DenseCrf crf(4, 2);
    std::vector<float> unary(8, 0.0f);
    unary[3] = NAN;
    EXPECT_THROW(crf.set_unary_energy(unary.data()), Error);
    EXPECT_THROW(crf.inference(-1), Error);
    const std::vector<float> f(10, 0.0f);  // kernel over 5 points, CRF has 4
    EXPECT_THROW(crf.add_pairwise(PairwiseTerm(DenseKernel(f, 5, 2), PottsCompatibility(1.0f))), Error);
    const std::vector<uint8_t> rgb(12, 0);
    EXPECT_THROW(dense_crf(nullptr, 2, rgb.data(), 2, 2), Error);
    EXPECT_THROW(dense_crf(unary.data(), 2, rgb.data(), 0, 2), Error);
}

TEST(DenseCrfTiming, ProjectSizeTenIterations) {
    // The reference's CRF size: a 224x334 resized image, K = 11 leaves.
    const int h = 224, w = 334, k = 11, n = h * w;
    std::mt19937 gen(21);
    std::vector<uint8_t> rgb(static_cast<std::size_t>(n) * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c)
                rgb[(y * w + x) * 3 + c] = static_cast<uint8_t>(((x / 40 + y / 30 + c) % 4) * 60 + gen() % 20);
    std::vector<float> unary(static_cast<std::size_t>(n) * k);
    std::uniform_real_distribution<float> energy(-1.0f, 0.0f);
    for (float& u : unary) u = energy(gen);

    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    DenseCrf crf(n, k);
    crf.set_unary_energy(unary.data());
    const CrfParams p;
    crf.add_pairwise(PairwiseTerm(DenseKernel(gaussian_features(w, h, p.gaussian_sxy, p.gaussian_sxy), n, 2),
                                  PottsCompatibility(p.gaussian_compat)));
    crf.add_pairwise(PairwiseTerm(DenseKernel(bilateral_features(rgb.data(), w, h, p.bilateral_sxy, p.bilateral_sxy,
                                                                 p.bilateral_srgb, p.bilateral_srgb, p.bilateral_srgb),
                                              n, 5),
                                  PottsCompatibility(p.bilateral_compat)));
    const auto t1 = clock::now();
    const std::vector<float> q = crf.inference(p.iterations);
    const auto t2 = clock::now();
    const auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    std::cout << "224x334, K=11: lattice setup " << ms(t0, t1) << " ms, 10 iterations " << ms(t1, t2)
              << " ms (" << crf.num_points() << " pixels)\n";
    ::testing::Test::RecordProperty("iterations_ms", static_cast<int>(ms(t1, t2)));

    double worst = 0.0;
    for (int i = 0; i < n; ++i) {
        double s = 0.0;
        for (int c = 0; c < k; ++c) s += q[static_cast<std::size_t>(i) * k + c];
        worst = std::max(worst, std::fabs(s - 1.0));
    }
    EXPECT_LT(worst, 1e-5);
    EXPECT_LT(ms(t0, t2), 20000.0);  // generous: a shared CI core; typical values are printed above
}

}  // namespace
}  // namespace zgseg::densecrf
