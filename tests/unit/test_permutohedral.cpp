// Permutohedral lattice: linearity, the transpose property of the reversed
// blur, and agreement with brute-force Gaussian filtering (the lattice is an
// approximation; the tolerances below were measured, see the printed errors).
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>
#include <vector>

#include "cluster/densecrf/permutohedral.hpp"
#include "zgseg/error.hpp"

namespace zgseg::densecrf {
namespace {

std::vector<float> random_values(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = dist(gen);
    return v;
}

// (h*w, 2) pixel-grid features divided by sigma.
std::vector<float> grid_features(int h, int w, float sigma) {
    std::vector<float> f;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            f.push_back(static_cast<float>(x) / sigma);
            f.push_back(static_cast<float>(y) / sigma);
        }
    return f;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
    return s;
}

// Σ_j exp(-½‖f_i − f_j‖²) v_j, in double.
std::vector<double> brute_force(const std::vector<float>& f, int n, int d, const std::vector<float>& v) {
    std::vector<double> out(n, 0.0);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
            double r2 = 0.0;
            for (int k = 0; k < d; ++k) {
                const double diff = static_cast<double>(f[i * d + k]) - f[j * d + k];
                r2 += diff * diff;
            }
            out[i] += std::exp(-0.5 * r2) * v[j];
        }
    return out;
}

TEST(Permutohedral, ConstantInputIsConstantAwayFromBorders) {
    // On an unbounded uniform grid the filter of a constant is a constant; on a
    // finite one only the border rows see fewer neighbours.
    const int h = 40, w = 40;
    PermutohedralLattice lattice;
    lattice.init(grid_features(h, w, 3.0f).data(), h * w, 2);
    std::vector<float> ones(h * w, 1.0f), out(h * w), out3(h * w);
    lattice.compute(out.data(), ones.data(), 1);
    std::vector<float> threes(h * w, 3.0f);
    lattice.compute(out3.data(), threes.data(), 1);

    const float centre = out[20 * w + 20];
    double interior_spread = 0.0, linearity = 0.0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int i = y * w + x;
            linearity = std::max(linearity, static_cast<double>(std::fabs(out3[i] - 3.0f * out[i]) / out3[i]));
            if (y >= 12 && y < h - 12 && x >= 12 && x < w - 12)
                interior_spread = std::max(interior_spread, static_cast<double>(std::fabs(out[i] - centre) / centre));
        }
    std::cout << "F(1) at centre " << centre << ", interior relative spread " << interior_spread
              << ", linearity error " << linearity << "\n";
    // The lattice is shift-variant (points sit at different places in their simplices):
    // measured spread ~3e-2 for sigma 3.
    EXPECT_LT(interior_spread, 0.06);
    EXPECT_LT(linearity, 1e-6);
    EXPECT_LT(out[0], 0.5f * centre);  // a corner sees about a quarter of the mass
}

TEST(Permutohedral, ChannelsAreFilteredIndependently) {
    const int n = 300;
    const std::vector<float> f = random_values(n * 3, 1, 0.0f, 4.0f);
    PermutohedralLattice lattice;
    lattice.init(f.data(), n, 3);
    const std::vector<float> v = random_values(n * 3, 2);
    std::vector<float> joint(n * 3);
    lattice.compute(joint.data(), v.data(), 3);
    double worst = 0.0;
    for (int c = 0; c < 3; ++c) {
        std::vector<float> channel(n), out(n);
        for (int i = 0; i < n; ++i) channel[i] = v[i * 3 + c];
        lattice.compute(out.data(), channel.data(), 1);
        for (int i = 0; i < n; ++i) worst = std::max(worst, static_cast<double>(std::fabs(out[i] - joint[i * 3 + c])));
    }
    std::cout << "max abs diff joint vs per-channel " << worst << "\n";
    EXPECT_LT(worst, 1e-5);  // only the slicing multiplication order differs
}

TEST(Permutohedral, ReverseBlurIsTheExactTranspose) {
    for (int d : {2, 5}) {
        const int n = 500;
        const std::vector<float> f = random_values(static_cast<std::size_t>(n) * d, 3 + d, 0.0f, 5.0f);
        PermutohedralLattice lattice;
        lattice.init(f.data(), n, d);
        const std::vector<float> a = random_values(n, 10), b = random_values(n, 11);
        std::vector<float> fa(n), fb(n), rev_a(n);
        lattice.compute(fb.data(), b.data(), 1, false);
        lattice.compute(fa.data(), a.data(), 1, false);
        lattice.compute(rev_a.data(), a.data(), 1, true);
        const double a_fb = dot(a, fb), rev_a_b = dot(rev_a, b), fa_b = dot(fa, b);
        const double scale = std::sqrt(dot(fa, fa) * dot(b, b));
        const double transpose_err = std::fabs(a_fb - rev_a_b) / scale;
        const double symmetry_err = std::fabs(a_fb - fa_b) / scale;
        std::cout << "d=" << d << " <a,Fb>=" << a_fb << " <F'a,b>=" << rev_a_b << " <Fa,b>=" << fa_b
                  << " transpose rel err " << transpose_err << ", forward symmetry rel err " << symmetry_err << "\n";
        EXPECT_LT(transpose_err, 1e-6);
        // The forward operator itself is only nearly symmetric: the per-axis blurs do
        // not commute on a sparse lattice (measured ~1e-3 here).
        EXPECT_LT(symmetry_err, 1e-2);
    }
}

TEST(Permutohedral, MatchesBruteForceGaussianWithinStatedTolerance) {
    // Normalised filtering F(v)/F(1) against Σ k v / Σ k with k = exp(-½‖Δf‖²):
    // the quantity the CRF actually relies on. Smooth values (a ramp of the
    // first feature) and random values are both checked.
    for (int d : {2, 5}) {
        const int n = 400;
        const std::vector<float> f = random_values(static_cast<std::size_t>(n) * d, 20 + d, 0.0f, 3.0f);
        PermutohedralLattice lattice;
        lattice.init(f.data(), n, d);
        std::vector<float> ones(n, 1.0f), smooth(n);
        for (int i = 0; i < n; ++i) smooth[i] = f[i * d];
        const std::vector<float> noise = random_values(n, 30 + d, 0.0f, 1.0f);
        const std::vector<double> k1 = brute_force(f, n, d, ones);

        std::vector<float> l1(n);
        lattice.compute(l1.data(), ones.data(), 1);
        double scale_err = 0.0;  // unnormalised response vs brute-force kernel sum
        for (int i = 0; i < n; ++i) scale_err += std::fabs(l1[i] / k1[i] - 1.0) / n;

        const std::vector<float>* inputs[] = {&smooth, &noise};
        for (const std::vector<float>* v : inputs) {
            const std::vector<double> kv = brute_force(f, n, d, *v);
            std::vector<float> lv(n);
            lattice.compute(lv.data(), v->data(), 1);
            double max_err = 0.0, mean_err = 0.0, range = 0.0;
            for (int i = 0; i < n; ++i) range = std::max(range, std::fabs(kv[i] / k1[i]));
            for (int i = 0; i < n; ++i) {
                const double e = std::fabs(lv[i] / l1[i] - kv[i] / k1[i]) / range;
                max_err = std::max(max_err, e);
                mean_err += e / n;
            }
            std::cout << "d=" << d << (v == &smooth ? " ramp" : " noise") << ": normalised filter rel err max "
                      << max_err << " mean " << mean_err << "; unnormalised mean |F(1)/Σk - 1| " << scale_err
                      << "\n";
            EXPECT_LT(max_err, 0.15);
            EXPECT_LT(mean_err, 0.05);
        }
    }
}

TEST(Permutohedral, RejectsBadInput) {
    PermutohedralLattice lattice;
    std::vector<float> out(4), in(4, 1.0f);
    EXPECT_THROW(lattice.compute(out.data(), in.data(), 1), Error);  // not initialised
    const std::vector<float> f = {0.0f, 1.0f, 2.0f, 3.0f};
    EXPECT_THROW(lattice.init(f.data(), 0, 2), Error);
    EXPECT_THROW(lattice.init(f.data(), 2, 0), Error);
    const std::vector<float> bad = {0.0f, NAN, 1.0f, 2.0f};
    EXPECT_THROW(lattice.init(bad.data(), 2, 2), Error);
    const std::vector<float> huge = {0.0f, 1e9f, 1.0f, 2.0f};
    EXPECT_THROW(lattice.init(huge.data(), 2, 2), Error);
    lattice.init(f.data(), 2, 2);
    EXPECT_THROW(lattice.compute(out.data(), in.data(), 0), Error);
}

TEST(Permutohedral, IsolatedPointsDoNotInteract) {
    // Two points far apart: each one's response is that of a lone point.
    const std::vector<float> far = {0.0f, 0.0f, 500.0f, 500.0f};
    const std::vector<float> lone = {0.0f, 0.0f};
    PermutohedralLattice pair, single;
    pair.init(far.data(), 2, 2);
    single.init(lone.data(), 1, 2);
    const std::vector<float> v = {2.0f, 7.0f};
    std::vector<float> out(2), out_single(1);
    pair.compute(out.data(), v.data(), 1);
    single.compute(out_single.data(), v.data(), 1);
    EXPECT_FLOAT_EQ(out[0], out_single[0]);
    EXPECT_GT(out[1], 0.0f);
    EXPECT_EQ(pair.num_vertices(), 6);  // two disjoint triangles
}

}  // namespace
}  // namespace zgseg::densecrf
