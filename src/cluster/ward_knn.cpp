#include "cluster/ward_knn.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "cluster/kernels.hpp"

namespace zgseg::cluster {
namespace {

constexpr int64_t kRowBlock = 256;  // rows of the left tile: 256 x 1.5 KB stays in L2
constexpr int64_t kColBlock = 16;   // rows of the right tile: 16 x 1.5 KB stays in L1
constexpr double kUnit = 1.0 / 16777216.0;  // float32 unit roundoff 2^-24

// Fixed-capacity max-heaps of (screening value, id), one per row.
class RowHeaps {
public:
    RowHeaps(int64_t n, int64_t k)
        : k_(k), value_(static_cast<size_t>(n * k)), id_(static_cast<size_t>(n * k)),
          count_(static_cast<size_t>(n), 0),
          threshold_(static_cast<size_t>(n), std::numeric_limits<float>::infinity()) {}

    float threshold(int64_t row) const { return threshold_[row]; }

    // Keeps (s, id) if it is among the k smallest seen so far for `row`.
    void offer(int64_t row, float s, int32_t id) {
        float* v = &value_[row * k_];
        int32_t* ids = &id_[row * k_];
        int32_t& c = count_[row];
        if (c < k_) {
            int64_t t = c++;
            while (t > 0) {  // sift up
                int64_t parent = (t - 1) / 2;
                if (!(v[parent] < s)) break;
                v[t] = v[parent];
                ids[t] = ids[parent];
                t = parent;
            }
            v[t] = s;
            ids[t] = id;
            if (c == k_) threshold_[row] = v[0];
            return;
        }
        if (!(s < v[0])) return;
        int64_t t = 0;  // replace the largest and sift down
        for (;;) {
            int64_t child = 2 * t + 1;
            if (child >= k_) break;
            if (child + 1 < k_ && v[child + 1] > v[child]) ++child;
            if (!(v[child] > s)) break;
            v[t] = v[child];
            ids[t] = ids[child];
            t = child;
        }
        v[t] = s;
        ids[t] = id;
        threshold_[row] = v[0];
    }

    int32_t count(int64_t row) const { return count_[row]; }
    bool full(int64_t row) const { return count_[row] == k_; }
    const int32_t* ids(int64_t row) const { return &id_[row * k_]; }
    const float* values(int64_t row) const { return &value_[row * k_]; }
    float largest(int64_t row) const { return value_[row * k_]; }

private:
    int64_t k_;
    std::vector<float> value_;
    std::vector<int32_t> id_;
    std::vector<int32_t> count_;
    std::vector<float> threshold_;
};

// Upper-triangle pairs (i, j > i) for the row blocks starting in [first, last),
// offered to both rows' heaps.
void scan_row_blocks(const float* rows, const float* norm2, int64_t n, int64_t stride, int64_t first,
                     int64_t last, RowHeaps& heaps) {
    std::vector<float> tile(static_cast<size_t>(kRowBlock * kColBlock));
    for (int64_t i0 = first; i0 < last; i0 += kRowBlock) {
        const int64_t i1 = std::min(n, i0 + kRowBlock);
        for (int64_t j0 = i0; j0 < n; j0 += kColBlock) {
            const int64_t j1 = std::min(n, j0 + kColBlock);
            const int64_t row_end = std::min(i1, j1 - 1);  // rows with some j > i in this tile
            if (row_end <= i0) continue;
            dot_tile(rows + i0 * stride, row_end - i0, rows + j0 * stride, j1 - j0, stride, tile.data(), kColBlock);
            for (int64_t i = i0; i < row_end; ++i) {
                const float* dots = &tile[(i - i0) * kColBlock];
                for (int64_t j = std::max(j0, i + 1); j < j1; ++j) {
                    const float s = (norm2[i] + norm2[j]) - 2.0f * dots[j - j0];
                    if (s < heaps.threshold(i)) heaps.offer(i, s, static_cast<int32_t>(j));
                    if (s < heaps.threshold(j)) heaps.offer(j, s, static_cast<int32_t>(i));
                }
            }
        }
    }
}

}  // namespace

int64_t knn_candidates_bytes(int64_t n, int64_t d, int64_t k, int threads) {
    const int64_t stride = padded_width(d);
    const int64_t padded_copy = (stride == d) ? 0 : n * stride * 4;
    const int64_t heaps = std::max(1, threads) * (n * k * 8 + n * 8) + n * k * 8;
    const int64_t result = n * k * 4 + n * 12;
    return padded_copy + heaps + result + kRowBlock * kColBlock * 4;
}

KnnCandidates knn_candidates(const float* x, int64_t n, int64_t d, int64_t k, int threads) {
    KnnCandidates out;
    out.k = k;
    const int64_t stride = padded_width(d);

    // Rows padded with zeros to a multiple of 8 floats (no copy when d already is).
    std::vector<float> padded;
    const float* rows = x;
    if (stride != d) {
        padded.assign(static_cast<size_t>(n * stride), 0.0f);
        for (int64_t i = 0; i < n; ++i) std::memcpy(&padded[i * stride], x + i * d, sizeof(float) * d);
        rows = padded.data();
    }

    std::vector<float> norm2(static_cast<size_t>(n));  // |x_i|^2 rounded once to float
    std::vector<double> norm(static_cast<size_t>(n));
    double max_norm = 0;
    for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t t = 0; t < d; ++t) s += double(x[i * d + t]) * double(x[i * d + t]);
        norm2[i] = static_cast<float>(s);
        norm[i] = std::sqrt(s);
        max_norm = std::max(max_norm, norm[i]);
    }

    // Row blocks split into `threads` contiguous ranges of equal work (block
    // i0 pairs with the n - i0 rows after it); each range fills its own heaps.
    const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads, (n + kRowBlock - 1) / kRowBlock));
    std::vector<int64_t> cut{0};
    const double total = double(n) * double(n) / 2;
    double done = 0;
    for (int64_t i0 = 0; i0 < n && static_cast<int64_t>(cut.size()) < parts; i0 += kRowBlock) {
        done += double(std::min(kRowBlock, n - i0)) * double(n - i0);
        if (done >= total * double(cut.size()) / double(parts)) cut.push_back(std::min(n, i0 + kRowBlock));
    }
    while (static_cast<int64_t>(cut.size()) <= parts) cut.push_back(n);
    std::vector<RowHeaps> heaps;
    for (int64_t p = 0; p < parts; ++p) heaps.emplace_back(n, k);
    {
        std::vector<std::thread> workers;
        for (int64_t p = 1; p < parts; ++p)
            workers.emplace_back(scan_row_blocks, rows, norm2.data(), n, stride, cut[p], cut[p + 1],
                                 std::ref(heaps[p]));
        scan_row_blocks(rows, norm2.data(), n, stride, cut[0], cut[1], heaps[0]);
        for (std::thread& w : workers) w.join();
    }

    // Forward error bound of s_ij: each lane sums stride/8 products, then a
    // 3-level horizontal sum, so gamma_m with m = stride/8 + 8 covers the dot
    // product; the norms and the final two operations add a few units more.
    const double m = double(stride / kRowAlign + 8);
    const double gamma = m * kUnit / (1.0 - m * kUnit);
    const double error_factor = (8.0 * kUnit + 2.0 * gamma) * (1.0 + 1e-6);

    out.ids.assign(static_cast<size_t>(n * k), -1);
    out.count.assign(static_cast<size_t>(n), 0);
    out.bound2.assign(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
    std::vector<std::pair<float, int32_t>> merged;
    for (int64_t i = 0; i < n; ++i) {
        // A row j left out was either rejected by a full heap (s >= its top)
        // or dropped below when the heaps are merged (s >= the k-th kept).
        float left_out = std::numeric_limits<float>::infinity();
        merged.clear();
        for (const RowHeaps& h : heaps) {
            for (int32_t t = 0; t < h.count(i); ++t) merged.emplace_back(h.values(i)[t], h.ids(i)[t]);
            if (h.full(i)) left_out = std::min(left_out, h.largest(i));
        }
        if (static_cast<int64_t>(merged.size()) > k) {
            std::nth_element(merged.begin(), merged.begin() + k, merged.end());
            left_out = std::min(left_out, merged[k].first);
            merged.resize(static_cast<size_t>(k));
        }
        for (size_t t = 0; t < merged.size(); ++t) out.ids[i * k + static_cast<int64_t>(t)] = merged[t].second;
        out.count[i] = static_cast<int32_t>(merged.size());
        if (left_out < std::numeric_limits<float>::infinity()) {
            const double reach = norm[i] + max_norm * (1.0 + 1e-12);
            const double delta = error_factor * reach * reach;
            out.bound2[i] = std::max(0.0, double(left_out) - delta);
        }
    }
    return out;
}

}  // namespace zgseg::cluster
