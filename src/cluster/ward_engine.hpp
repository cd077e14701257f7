// The nearest-neighbour chain behind ward_linkage (see ward.hpp for the
// method). Clusters live in "slots" 0..n-1 exactly like scipy's nn_chain:
// a merge of slots x < y keeps the new cluster in slot y and empties x.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "cluster/ward.hpp"
#include "cluster/ward_projection.hpp"

namespace zgseg::cluster {

namespace ward_detail {
inline constexpr double kInf = std::numeric_limits<double>::infinity();
// A bound-based answer is trusted only with this relative margin, so rounding
// of computed distances (~1e-15) can never decide it.
inline constexpr double kBoundSlack = 1e-9;
// scipy's ascending scan with a strict '<': smaller distance, then smaller slot.
inline bool closer(double da, int32_t ia, double db, int32_t ib) { return da < db || (da == db && ia < ib); }
}  // namespace ward_detail

class WardEngine {
public:
    // x: (n, d) float32, validated by the caller.
    WardEngine(const float* x, int64_t n, int64_t d, const WardOptions& options, WardStats* stats);

    // Runs the chain to the end. Returns merges in chain order with slot
    // indices (a < b), like scipy's nn_chain before its sort and relabelling.
    std::vector<WardMerge> run();

    static int64_t bytes(int64_t n, int64_t d, int64_t list_size, int threads);

private:
    struct Neighbour {
        int32_t id;
        double dist;
    };

    double distance(int32_t a, int32_t b) const;
    Neighbour best_in_list(int32_t x) const;
    // Exact nearest live cluster of x, and a fresh list for x (ward_rescan.cpp):
    // visits clusters in increasing order of a proven lower bound and stops
    // once the next bound exceeds the best (and list_size-th best) distance.
    Neighbour rescan(int32_t x);
    // Fills lower_ with lower bounds on d(x, c) for every live c != x: from the
    // projected centroids (cheap, tight for structured data) or from float32
    // copies of the centroids (a streaming scan, always tight).
    void projected_bounds(int32_t x);
    void screened_bounds(int32_t x);
    // Exact distances in increasing order of lower_; sets x's list and `best`.
    // Returns false (list untouched) if give_up_if_weak and the bounds prune little.
    bool bounded_search(int32_t x, bool give_up_if_weak, Neighbour& best);
    bool weak_bounds(double best_dist) const;
    // Exact nearest live cluster by brute force (verification only).
    Neighbour brute_force_nearest(int32_t x);
    Neighbour nearest(int32_t x, int32_t prev, double prev_dist);
    void merge(int32_t x, int32_t y, double height);

    // Makes `candidates` the list of `owner`: the list_size nearest, with
    // `bound` lowered to the nearest one left out.
    void set_list(int32_t owner, std::vector<Neighbour>& candidates, double bound);
    int remove_from_list(int32_t owner, int32_t a, int32_t b);

    int64_t n_, d_, stride_, cap_;
    bool verify_;
    WardStats* stats_;

    std::vector<double> centroid_;  // (n, stride) cluster means, zero-padded
    std::vector<int64_t> size_;     // (n) 0 for an emptied slot
    Projection projection_;
    int64_t pwidth_;
    std::vector<double> projected_;  // (n, pwidth) projection of each centroid
    double projection_slack_;        // absolute rounding allowance of projected distances
    // float32 copies of the live centroids, packed: row r holds slot compact_slot_[r].
    std::vector<float> compact_;
    std::vector<int32_t> compact_slot_, compact_row_;
    int64_t compact_count_;
    double screen_rel_, screen_abs_;  // rounding allowances of float32 distances
    std::vector<float> fscan_;
    int64_t rescans_ = 0, weak_streak_ = 0;

    // Neighbour lists, (n, cap): exact distances to live clusters; every live
    // cluster outside slot i's list is at distance >= bound_[i].
    std::vector<int32_t> list_id_;
    std::vector<double> list_dist_;
    std::vector<int32_t> list_len_;
    std::vector<double> bound_;
    // reverse_[c]: slots whose list may hold c (a superset; stale entries are skipped).
    std::vector<std::vector<int32_t>> reverse_;

    // Per-merge stamps (n): lists already updated, and candidates already taken.
    std::vector<uint32_t> visited_, mark_;
    uint32_t epoch_ = 0;
    std::vector<int32_t> live_;   // live slots, ascending
    std::vector<double> scan_;    // scratch for rescans
    std::vector<Neighbour> lower_;  // scratch: (slot, lower bound) for rescans
    std::vector<Neighbour> candidates_;
};

}  // namespace zgseg::cluster
