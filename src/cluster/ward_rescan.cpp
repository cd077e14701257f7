// Exact nearest-neighbour rescans of the Ward engine (see ward_engine.hpp).
//
// A rescan must return exactly the cluster a scan of every live cluster
// would, so it visits clusters in increasing order of a proven lower bound on
// their distance and stops once the next bound exceeds the best distance
// found. Two bounds are used:
//   1. |P (a - b)| from the projected centroids: 32 doubles per cluster, tight
//      when the data is structured, which is the common case;
//   2. the float32 distance of float32 copies of the centroids minus its
//      rounding allowance: a streaming scan of half the bytes of the exact one,
//      tight for any data; used when (1) prunes little.
#include <algorithm>
#include <cmath>

#include "cluster/kernels.hpp"
#include "cluster/ward_engine.hpp"

namespace zgseg::cluster {
using namespace ward_detail;

WardEngine::Neighbour WardEngine::brute_force_nearest(int32_t x) {
    scan_.resize(live_.size());
    squared_distances(&centroid_[x * stride_], centroid_.data(), stride_, live_.data(),
                      static_cast<int64_t>(live_.size()), scan_.data());
    const double nx = double(size_[x]);
    Neighbour best{-1, kInf};
    for (size_t t = 0; t < live_.size(); ++t) {
        const int32_t c = live_[t];
        if (c == x) continue;
        const double nc = double(size_[c]);
        const double dist = std::sqrt(2.0 * nx * nc / (nx + nc) * scan_[t]);
        if (best.id < 0 || closer(dist, c, best.dist, best.id)) best = {c, dist};
    }
    return best;
}

void WardEngine::projected_bounds(int32_t x) {
    scan_.resize(live_.size());
    squared_distances(&projected_[x * pwidth_], projected_.data(), pwidth_, live_.data(),
                      static_cast<int64_t>(live_.size()), scan_.data());
    const double nx = double(size_[x]);
    lower_.clear();
    for (size_t t = 0; t < live_.size(); ++t) {
        const int32_t c = live_[t];
        if (c == x) continue;
        const double nc = double(size_[c]);
        const double gap = std::max(0.0, std::sqrt(scan_[t]) - projection_slack_);
        lower_.push_back({c, std::sqrt(2.0 * nx * nc / (nx + nc)) * gap * (1.0 - kBoundSlack)});
    }
}

void WardEngine::screened_bounds(int32_t x) {
    fscan_.resize(static_cast<size_t>(compact_count_));
    squared_distances_f32(&compact_[compact_row_[x] * stride_], compact_.data(), stride_, compact_count_,
                          fscan_.data());
    const double nx = double(size_[x]);
    lower_.clear();
    for (int64_t r = 0; r < compact_count_; ++r) {
        const int32_t c = compact_slot_[r];
        if (c == x) continue;
        const double nc = double(size_[c]);
        const double gap = std::max(0.0, std::sqrt(double(fscan_[r])) * (1.0 - screen_rel_) - screen_abs_);
        lower_.push_back({c, std::sqrt(2.0 * nx * nc / (nx + nc)) * gap * (1.0 - kBoundSlack)});
    }
}

// Projected bounds are "weak" when more than 1/8 of the live clusters could
// still beat the best distance found.
bool WardEngine::weak_bounds(double best_dist) const {
    size_t below = 0;
    for (const Neighbour& l : lower_) below += l.dist < best_dist;
    return below * 8 > lower_.size();
}

bool WardEngine::bounded_search(int32_t x, bool give_up_if_weak, Neighbour& best) {
    const auto by_bound = [](const Neighbour& p, const Neighbour& q) { return closer(p.dist, p.id, q.dist, q.id); };
    candidates_.clear();
    std::vector<double>& kth = scan_;  // max-heap of the list_size smallest exact distances
    kth.clear();
    best = {-1, kInf};
    double next_bound = kInf;  // smallest lower bound not visited yet
    size_t begin = 0, chunk = static_cast<size_t>(std::max<int64_t>(2 * cap_, 16));
    while (begin < lower_.size()) {
        const size_t end = std::min(lower_.size(), begin + chunk);
        if (end < lower_.size()) {
            std::nth_element(lower_.begin() + begin, lower_.begin() + end, lower_.end(), by_bound);
            next_bound = lower_[end].dist;
        } else {
            next_bound = kInf;
        }
        for (size_t t = begin; t < end; ++t) {
            const int32_t c = lower_[t].id;
            const double dist = distance(x, c);
            candidates_.push_back({c, dist});
            if (best.id < 0 || closer(dist, c, best.dist, best.id)) best = {c, dist};
            if (kth.size() < static_cast<size_t>(cap_)) {
                kth.push_back(dist);
                std::push_heap(kth.begin(), kth.end());
            } else if (dist < kth.front()) {
                std::pop_heap(kth.begin(), kth.end());
                kth.back() = dist;
                std::push_heap(kth.begin(), kth.end());
            }
        }
        begin = end;
        chunk *= 2;
        // Done once the answer is proven and the list is complete, or has
        // already cost a few list sizes of exact distances.
        const double kth_best = kth.size() < static_cast<size_t>(cap_) ? kInf : kth.front();
        const bool proven = best.dist < next_bound;
        if (proven && (kth_best <= next_bound || candidates_.size() >= static_cast<size_t>(4 * cap_))) break;
        if (!proven && give_up_if_weak && weak_bounds(best.dist)) return false;
    }
    // Everything not visited is at distance >= next_bound.
    set_list(x, candidates_, next_bound);
    return true;
}

// After a run of rescans where the projection pruned little (isotropic
// data), skip it, retrying it every 16th rescan in case the data changed
// character as clusters grew.
WardEngine::Neighbour WardEngine::rescan(int32_t x) {
    Neighbour best;
    ++rescans_;
    if (weak_streak_ < 8 || rescans_ % 16 == 0) {
        projected_bounds(x);
        if (bounded_search(x, true, best)) {
            weak_streak_ = 0;
            return best;
        }
        ++weak_streak_;
    }
    screened_bounds(x);
    bounded_search(x, false, best);
    return best;
}

}  // namespace zgseg::cluster
