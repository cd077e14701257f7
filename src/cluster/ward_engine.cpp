#include "cluster/ward_engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cluster/kernels.hpp"
#include "cluster/ward_knn.hpp"
#include "core/timing.hpp"
#include "zgseg/error.hpp"

namespace zgseg::cluster {
using namespace ward_detail;

int64_t WardEngine::bytes(int64_t n, int64_t d, int64_t list_size, int threads) {
    const int64_t stride = padded_width(d);
    const int64_t state = n * stride * 8 + n * 8 + n * list_size * 12 + n * 16 + n * 4 + n * 4 + n * 8 +
                          n * Projection::kMaxWidth * 8 + Projection::bytes(d) + n * (16 + 8 + 16) +
                          n * stride * 4 + n * 12;
    const int64_t reverse_index = n * 24 + n * list_size * 4;
    // The k-NN search runs before the lists exist but while the centroids do.
    const int64_t knn = knn_candidates_bytes(n, d, list_size, threads);
    return state + reverse_index + knn;
}

WardEngine::WardEngine(const float* x, int64_t n, int64_t d, const WardOptions& options, WardStats* stats)
    : n_(n), d_(d), stride_(padded_width(d)), cap_(options.neighbour_list_size),
      verify_(options.verify_neighbours), stats_(stats), projection_(x, n, d), pwidth_(projection_.width()) {
    const auto t0 = SteadyClock::now();
    KnnCandidates knn = knn_candidates(x, n, d, cap_, options.threads);

    centroid_.assign(static_cast<size_t>(n * stride_), 0.0);
    double max_norm = 0;
    for (int64_t i = 0; i < n; ++i) {
        double norm2 = 0;
        for (int64_t t = 0; t < d; ++t) {
            centroid_[i * stride_ + t] = x[i * d + t];
            norm2 += double(x[i * d + t]) * double(x[i * d + t]);
        }
        max_norm = std::max(max_norm, std::sqrt(norm2));
    }
    projected_.assign(static_cast<size_t>(n * pwidth_), 0.0);
    for (int64_t i = 0; i < n; ++i) projection_.apply(&centroid_[i * stride_], &projected_[i * pwidth_]);
    // Every centroid has norm <= max_norm; projected coordinates carry errors
    // far below 1e-11 of that (dot products of length d, averaging at merges).
    projection_slack_ = std::sqrt(double(pwidth_)) * 1e-11 * max_norm;
    compact_.assign(static_cast<size_t>(n * stride_), 0.0f);
    for (int64_t i = 0; i < n; ++i) std::copy(x + i * d, x + i * d + d, &compact_[i * stride_]);
    compact_slot_.resize(static_cast<size_t>(n));
    compact_row_.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) compact_slot_[i] = compact_row_[i] = static_cast<int32_t>(i);
    compact_count_ = n;
    // float32 copies are within u |c| of the centroids (u = 2^-24), and the
    // float32 sum of squares is within gamma_m of exact (m = stride/8 + 8).
    const double unit = 1.0 / 16777216.0, m = double(stride_ / kRowAlign + 8);
    screen_rel_ = m * unit / (1.0 - m * unit) + 4.0 * unit;
    screen_abs_ = 2.01 * unit * max_norm;

    size_.assign(static_cast<size_t>(n), 1);
    live_.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) live_[i] = static_cast<int32_t>(i);
    list_id_.assign(static_cast<size_t>(n * cap_), -1);
    list_dist_.assign(static_cast<size_t>(n * cap_), kInf);
    list_len_.assign(static_cast<size_t>(n), 0);
    bound_.assign(static_cast<size_t>(n), kInf);
    reverse_.resize(static_cast<size_t>(n));
    mark_.assign(static_cast<size_t>(n), 0);
    visited_.assign(static_cast<size_t>(n), 0);

    // Singletons: exact distances of the float32 candidates; the bound is the
    // proven float32 one (Ward distance = Euclidean distance for singletons).
    for (int64_t i = 0; i < n; ++i) {
        candidates_.clear();
        for (int32_t t = 0; t < knn.count[i]; ++t) {
            const int32_t j = knn.ids[i * cap_ + t];
            candidates_.push_back({j, distance(static_cast<int32_t>(i), j)});
        }
        set_list(static_cast<int32_t>(i), candidates_, std::sqrt(knn.bound2[i]));
    }
    if (stats_) stats_->knn_seconds = seconds_since(t0);
}

double WardEngine::distance(int32_t a, int32_t b) const {
    const double na = double(size_[a]), nb = double(size_[b]);
    const double weight = 2.0 * na * nb / (na + nb);
    return std::sqrt(weight * squared_distance(&centroid_[a * stride_], &centroid_[b * stride_], stride_));
}

void WardEngine::set_list(int32_t owner, std::vector<Neighbour>& candidates, double bound) {
    const auto by_distance = [](const Neighbour& p, const Neighbour& q) { return closer(p.dist, p.id, q.dist, q.id); };
    size_t keep = candidates.size();
    if (keep > static_cast<size_t>(cap_)) {
        keep = static_cast<size_t>(cap_);
        std::nth_element(candidates.begin(), candidates.begin() + keep, candidates.end(), by_distance);
        bound = std::min(bound, candidates[keep].dist);  // the nearest one left out
    }
    for (size_t t = 0; t < keep; ++t) {
        list_id_[owner * cap_ + t] = candidates[t].id;
        list_dist_[owner * cap_ + t] = candidates[t].dist;
        reverse_[candidates[t].id].push_back(owner);
    }
    list_len_[owner] = static_cast<int32_t>(keep);
    bound_[owner] = bound;
}

int WardEngine::remove_from_list(int32_t owner, int32_t a, int32_t b) {
    int32_t* ids = &list_id_[owner * cap_];
    double* dists = &list_dist_[owner * cap_];
    int32_t& len = list_len_[owner];
    int removed = 0;
    for (int32_t t = 0; t < len;) {
        if (ids[t] == a || ids[t] == b) {
            --len;
            ids[t] = ids[len];
            dists[t] = dists[len];
            ++removed;
        } else {
            ++t;
        }
    }
    return removed;
}

WardEngine::Neighbour WardEngine::best_in_list(int32_t x) const {
    Neighbour best{-1, kInf};
    for (int32_t t = 0; t < list_len_[x]; ++t) {
        const int32_t id = list_id_[x * cap_ + t];
        const double dist = list_dist_[x * cap_ + t];
        if (best.id < 0 || closer(dist, id, best.dist, best.id)) best = {id, dist};
    }
    return best;
}

WardEngine::Neighbour WardEngine::nearest(int32_t x, int32_t prev, double prev_dist) {
    if (stats_) ++stats_->queries;
    Neighbour best = best_in_list(x);
    const double lead = std::min(best.dist, prev_dist);
    if (!(lead < bound_[x] * (1.0 - kBoundSlack))) {
        if (stats_) ++stats_->full_scans;
        best = rescan(x);
    }
    // scipy starts from the chain's previous element and takes others only if strictly closer.
    if (prev >= 0 && !(best.dist < prev_dist)) best = {prev, prev_dist};
    if (verify_) {
        Neighbour exact = brute_force_nearest(x);
        if (prev >= 0 && !(exact.dist < prev_dist)) exact = {prev, prev_dist};
        if (exact.id != best.id || exact.dist != best.dist)
            throw Error("ward_linkage: nearest neighbour of cluster slot " + std::to_string(x) + " found as " +
                        std::to_string(best.id) + " but brute force gives " + std::to_string(exact.id) +
                        " (internal error; please report)");
    }
    return best;
}

void WardEngine::merge(int32_t x, int32_t y, double height) {
    const int64_t nx = size_[x], ny = size_[y], nt = nx + ny;
    double* cx = &centroid_[x * stride_];
    double* cy = &centroid_[y * stride_];
    for (int64_t t = 0; t < d_; ++t) cy[t] = (double(nx) * cx[t] + double(ny) * cy[t]) / double(nt);
    double* px = &projected_[x * pwidth_];
    double* py = &projected_[y * pwidth_];
    for (int64_t t = 0; t < pwidth_; ++t) py[t] = (double(nx) * px[t] + double(ny) * py[t]) / double(nt);
    float* fy = &compact_[compact_row_[y] * stride_];
    for (int64_t t = 0; t < d_; ++t) fy[t] = static_cast<float>(cy[t]);
    const int32_t hole = compact_row_[x], last = static_cast<int32_t>(--compact_count_);
    if (hole != last) {  // move the last packed row into x's place
        std::copy(&compact_[last * stride_], &compact_[last * stride_] + stride_, &compact_[hole * stride_]);
        compact_slot_[hole] = compact_slot_[last];
        compact_row_[compact_slot_[hole]] = hole;
    }
    compact_row_[x] = -1;
    size_[y] = nt;
    size_[x] = 0;
    live_.erase(std::lower_bound(live_.begin(), live_.end(), x));

    ++epoch_;
    mark_[x] = mark_[y] = visited_[x] = visited_[y] = epoch_;
    candidates_.clear();
    std::vector<int32_t> listing_new;  // slots whose list now holds the new cluster

    // Lists that held x or y: drop them and add the new cluster if it is
    // within the list's bound; every other list stays valid by reducibility.
    for (int32_t gone : {x, y}) {
        for (int32_t j : reverse_[gone]) {
            if (size_[j] == 0 || visited_[j] == epoch_) continue;
            visited_[j] = epoch_;
            if (remove_from_list(j, x, y) == 0) continue;  // stale reverse entry
            const double dist = distance(j, y);
            mark_[j] = epoch_;
            candidates_.push_back({j, dist});
            if (dist < bound_[j]) {
                list_id_[j * cap_ + list_len_[j]] = y;
                list_dist_[j * cap_ + list_len_[j]] = dist;
                ++list_len_[j];
                listing_new.push_back(j);
            }
        }
    }
    // The new cluster's candidates: everything x or y had listed.
    for (int32_t src : {x, y}) {
        for (int32_t t = 0; t < list_len_[src]; ++t) {
            const int32_t c = list_id_[src * cap_ + t];
            if (mark_[c] == epoch_ || size_[c] == 0) continue;
            mark_[c] = epoch_;
            candidates_.push_back({c, distance(y, c)});
        }
    }
    // Unlisted c had d(x,c) >= bound_x and d(y,c) >= bound_y; Lance-Williams
    //   d(xy,c)^2 = ((nc+nx) d(x,c)^2 + (nc+ny) d(y,c)^2 - nc h^2) / (nc+nx+ny)
    // is increasing in both and monotone in nc, so its value at the bounds,
    // minimised over nc in {1, inf}, bounds d(xy,c) from below.
    double bound = kInf;
    if (std::isfinite(bound_[x]) && std::isfinite(bound_[y])) {
        const double bx2 = bound_[x] * bound_[x], by2 = bound_[y] * bound_[y], h2 = height * height;
        const double at_one = ((1.0 + double(nx)) * bx2 + (1.0 + double(ny)) * by2 - h2) / (1.0 + double(nt));
        const double at_inf = bx2 + by2 - h2;
        const double slack = 1e-12 * (bx2 + by2 + h2);
        bound = std::sqrt(std::max(0.0, std::min(at_one, at_inf) - slack));
    }
    list_len_[x] = 0;
    bound_[x] = 0;
    std::vector<int32_t>().swap(reverse_[x]);
    reverse_[y].swap(listing_new);
    set_list(y, candidates_, bound);
}

std::vector<WardMerge> WardEngine::run() {
    const auto t0 = SteadyClock::now();
    std::vector<WardMerge> merges(static_cast<size_t>(n_ - 1));
    std::vector<int32_t> chain;
    std::vector<double> chain_dist;  // chain_dist[t] = d(chain[t-1], chain[t])
    chain.reserve(static_cast<size_t>(n_));
    chain_dist.reserve(static_cast<size_t>(n_));
    int32_t first_live = 0;
    for (int64_t k = 0; k + 1 < n_; ++k) {
        if (chain.empty()) {
            while (size_[first_live] == 0) ++first_live;
            chain.push_back(first_live);
            chain_dist.push_back(kInf);
        }
        int32_t x;
        Neighbour y;
        for (;;) {
            x = chain.back();
            const bool has_prev = chain.size() > 1;
            const int32_t prev = has_prev ? chain[chain.size() - 2] : -1;
            y = nearest(x, prev, has_prev ? chain_dist.back() : kInf);
            if (has_prev && y.id == prev) break;
            chain.push_back(y.id);
            chain_dist.push_back(y.dist);
        }
        chain.resize(chain.size() - 2);
        chain_dist.resize(chain_dist.size() - 2);
        const int32_t a = std::min(x, y.id), b = std::max(x, y.id);
        merges[k] = {a, b, y.dist, size_[a] + size_[b]};
        merge(a, b, y.dist);
    }
    if (stats_) stats_->chain_seconds = seconds_since(t0);
    return merges;
}

}  // namespace zgseg::cluster
