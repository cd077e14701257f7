// Deterministic synthetic descriptor sets for the Ward / pruning tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace ward_test {

inline void normalise_rows(std::vector<float>& x, int64_t d) {
    for (size_t i = 0; i < x.size(); i += static_cast<size_t>(d)) {
        double s = 0;
        for (int64_t t = 0; t < d; ++t) s += double(x[i + t]) * x[i + t];
        const double inv = s > 0 ? 1.0 / std::sqrt(s) : 0.0;
        for (int64_t t = 0; t < d; ++t) x[i + t] = static_cast<float>(x[i + t] * inv);
    }
}

// (n, d) isotropic unit vectors.
inline std::vector<float> random_unit(int64_t n, int64_t d, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    std::vector<float> x(static_cast<size_t>(n * d));
    for (float& v : x) v = normal(rng);
    normalise_rows(x, d);
    return x;
}

// (n, d) unit vectors around k random centres; labels (n) returned in `label`.
inline std::vector<float> blobs(int64_t n, int64_t d, int k, float spread, uint64_t seed,
                                std::vector<int>* label = nullptr) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    std::vector<float> centres(static_cast<size_t>(k * d));
    for (float& v : centres) v = normal(rng);
    std::vector<float> x(static_cast<size_t>(n * d));
    if (label) label->resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const int c = static_cast<int>(rng() % static_cast<uint64_t>(k));
        if (label) (*label)[i] = c;
        for (int64_t t = 0; t < d; ++t) x[i * d + t] = centres[c * d + t] + spread * normal(rng);
    }
    normalise_rows(x, d);
    return x;
}

// An h x w grid split into k Voronoi regions of random seeds (label per cell,
// row-major), and unit descriptors: the region's direction plus noise.
inline std::vector<float> planted_regions(int64_t h, int64_t w, int64_t d, int k, float noise, uint64_t seed,
                                          std::vector<int>& label) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::normal_distribution<float> normal;
    std::vector<double> sy(static_cast<size_t>(k)), sx(static_cast<size_t>(k));
    for (int r = 0; r < k; ++r) {
        sy[r] = uniform(rng) * double(h);
        sx[r] = uniform(rng) * double(w);
    }
    std::vector<float> direction(static_cast<size_t>(k * d));
    for (float& v : direction) v = normal(rng);
    normalise_rows(direction, d);
    label.assign(static_cast<size_t>(h * w), 0);
    std::vector<float> x(static_cast<size_t>(h * w * d));
    for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx) {
            int best = 0;
            double best_dist = 1e300;
            for (int r = 0; r < k; ++r) {
                const double dist = std::hypot(double(y) - sy[r], double(xx) - sx[r]);
                if (dist < best_dist) {
                    best_dist = dist;
                    best = r;
                }
            }
            const int64_t cell = y * w + xx;
            label[cell] = best;
            for (int64_t t = 0; t < d; ++t) x[cell * d + t] = direction[best * d + t] + noise * normal(rng);
        }
    normalise_rows(x, d);
    return x;
}

// DINO-key-shaped unit descriptors on an h x w grid (row-major): `regions`
// Voronoi regions, each a random direction in a 24-d latent space plus smooth
// spatial waves, mapped to d dimensions by a random matrix, plus white noise.
inline std::vector<float> dinolike(int64_t h, int64_t w, int64_t d, int regions, uint64_t seed) {
    constexpr int64_t latent = 24;
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<double> sy(regions), sx(regions), base(static_cast<size_t>(regions * latent));
    for (int r = 0; r < regions; ++r) {
        sy[r] = uniform(rng) * double(h);
        sx[r] = uniform(rng) * double(w);
    }
    for (double& v : base) v = normal(rng);
    std::vector<double> wave(static_cast<size_t>(6 * latent)), phase(6);
    for (double& v : wave) v = normal(rng) * 0.5;
    for (double& v : phase) v = uniform(rng) * 6.28;
    std::vector<double> a(static_cast<size_t>(latent * d));
    for (double& v : a) v = normal(rng) / std::sqrt(double(latent));
    std::vector<float> x(static_cast<size_t>(h * w * d));
    std::vector<double> z(latent);
    for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx) {
            int best = 0;
            double best_dist = 1e300;
            for (int r = 0; r < regions; ++r) {
                const double dist = std::hypot(double(y) - sy[r], double(xx) - sx[r]);
                if (dist < best_dist) {
                    best_dist = dist;
                    best = r;
                }
            }
            for (int64_t l = 0; l < latent; ++l) {
                z[l] = base[best * latent + l];
                for (int f = 0; f < 3; ++f) {
                    const double freq = double(1 << f) * 6.283185307179586;
                    z[l] += wave[(2 * f) * latent + l] / (1 << f) * std::sin(double(xx) / double(w) * freq + phase[2 * f]) +
                            wave[(2 * f + 1) * latent + l] / (1 << f) * std::cos(double(y) / double(h) * freq + phase[2 * f + 1]);
                }
            }
            float* row = &x[(y * w + xx) * d];
            for (int64_t t = 0; t < d; ++t) {
                double v = 0.12 * normal(rng);
                for (int64_t l = 0; l < latent; ++l) v += z[l] * a[l * d + t];
                row[t] = static_cast<float>(v);
            }
        }
    normalise_rows(x, d);
    return x;
}

}  // namespace ward_test
