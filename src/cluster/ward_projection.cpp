#include "cluster/ward_projection.hpp"

#include <algorithm>
#include <cmath>

#include "cluster/kernels.hpp"

namespace zgseg::cluster {
namespace {

constexpr int64_t kSampleRows = 1024;
constexpr int kIterations = 8;

// Deterministic start vectors (splitmix64 -> [-1, 1)).
double start_value(uint64_t index) {
    uint64_t z = index * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return double(z >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

// Modified Gram-Schmidt, applied twice for orthogonality to working
// precision. Rows that become (numerically) dependent are zeroed: a zero row
// keeps |P v| <= |v|.
void orthonormalise(std::vector<double>& rows, int64_t count, int64_t d) {
    for (int64_t i = 0; i < count; ++i) {
        double* r = &rows[i * d];
        double before = 0;
        for (int64_t t = 0; t < d; ++t) before += r[t] * r[t];
        for (int pass = 0; pass < 2; ++pass) {
            for (int64_t j = 0; j < i; ++j) {
                const double* q = &rows[j * d];
                double dot = 0;
                for (int64_t t = 0; t < d; ++t) dot += q[t] * r[t];
                for (int64_t t = 0; t < d; ++t) r[t] -= dot * q[t];
            }
        }
        double after = 0;
        for (int64_t t = 0; t < d; ++t) after += r[t] * r[t];
        if (!(after > 1e-20 * before) || after == 0) {
            std::fill(r, r + d, 0.0);
            continue;
        }
        const double scale = 1.0 / std::sqrt(after);
        for (int64_t t = 0; t < d; ++t) r[t] *= scale;
    }
}

}  // namespace

Projection::Projection(const float* x, int64_t n, int64_t d) {
    const int64_t rank = std::min(kMaxWidth, d);
    width_ = padded_width(rank);

    // Covariance (d, d) of an evenly strided subsample.
    const int64_t samples = std::min(n, kSampleRows);
    std::vector<double> mean(static_cast<size_t>(d), 0.0), row(static_cast<size_t>(d));
    for (int64_t s = 0; s < samples; ++s) {
        const float* v = x + (s * n / samples) * d;
        for (int64_t t = 0; t < d; ++t) mean[t] += v[t];
    }
    for (double& m : mean) m /= double(samples);
    std::vector<double> cov(static_cast<size_t>(d * d), 0.0);
    for (int64_t s = 0; s < samples; ++s) {
        const float* v = x + (s * n / samples) * d;
        for (int64_t t = 0; t < d; ++t) row[t] = v[t] - mean[t];
        for (int64_t a = 0; a < d; ++a) {
            double* c = &cov[a * d];
            const double ra = row[a];
            for (int64_t b = a; b < d; ++b) c[b] += ra * row[b];
        }
    }
    for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < a; ++b) cov[a * d + b] = cov[b * d + a];

    // Subspace iteration: V <- orthonormalise(V C).
    std::vector<double> basis(static_cast<size_t>(rank * d)), next(static_cast<size_t>(rank * d));
    for (int64_t i = 0; i < rank * d; ++i) basis[i] = start_value(static_cast<uint64_t>(i));
    orthonormalise(basis, rank, d);
    for (int it = 0; it < kIterations; ++it) {
        std::fill(next.begin(), next.end(), 0.0);
        for (int64_t i = 0; i < rank; ++i)
            for (int64_t a = 0; a < d; ++a) {
                const double va = basis[i * d + a];
                if (va == 0) continue;
                const double* c = &cov[a * d];
                double* out = &next[i * d];
                for (int64_t b = 0; b < d; ++b) out[b] += va * c[b];
            }
        basis.swap(next);
        orthonormalise(basis, rank, d);
    }
    stride_ = padded_width(d);
    basis_.assign(static_cast<size_t>(width_ * stride_), 0.0);
    for (int64_t i = 0; i < rank; ++i) std::copy(&basis[i * d], &basis[i * d] + d, &basis_[i * stride_]);
}

void Projection::apply(const double* v, double* out) const {
    for (int64_t k = 0; k < width_; ++k) out[k] = dot(&basis_[k * stride_], v, stride_);
}

}  // namespace zgseg::cluster
