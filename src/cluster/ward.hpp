// Ward agglomerative clustering of all descriptors with the exact output of
// scipy.cluster.hierarchy.ward(X) (= linkage(X, method='ward')), as used by
// the reference's stage 1 (reference-notes §2).
//
// What scipy does, and what this code reproduces:
//   1. pdist in double, then the nearest-neighbour chain (nn_chain): start a
//      chain at the smallest live cluster index; repeatedly append the nearest
//      neighbour of the chain's top, scanning indices in ascending order with a
//      strict '<' and preferring the chain's previous element on ties; merge
//      the top two when they are reciprocal nearest neighbours; the merged
//      cluster takes the larger of the two indices. Ward distances are updated
//      by the Lance-Williams formula.
//   2. a stable sort of the merges by height;
//   3. relabelling by union-find: row i is (smaller id, larger id, height,
//      size) and creates cluster id n + i.
//
// How: the same nearest-neighbour chain (same slots, same tie rule), but
// without the N x N distance matrix (1.3 GB of doubles at N = 17,876). The
// Ward distance of clusters A, B is computed from centroids and sizes,
//     d(A, B) = sqrt(2 nA nB / (nA + nB)) * |cA - cB|    (double precision),
// the closed form of scipy's Lance-Williams recurrence: the two agree to
// rounding (measured <= 1e-15 relative on the fixtures). A plain chain would
// rescan every live centroid for each nearest-neighbour query: ~3N scans of
// N x D values, memory-bound: tens of seconds at N = 17.9k. Instead every cluster keeps
// a short list of candidate neighbours with exact distances plus a proven
// lower bound on the distance to every live cluster NOT in its list, and a
// query is answered from the list whenever its best entry beats the bound:
//   - singletons start from a k-nearest-neighbour search in cache-blocked
//     float32 tiles with a rigorous rounding-error bound (ward_knn.hpp);
//   - merging A and B refreshes the lists that held A or B (reverse index)
//     and gives the new cluster the union of A's and B's candidates; its
//     bound is Lance-Williams applied to A's and B's bounds (monotone in the
//     third cluster's size, so checking size 1 and infinity suffices);
//   - every other list stays valid untouched by Ward's reducibility,
//     d(C, A+B) >= min(d(C, A), d(C, B)) for reciprocal nearest A, B.
// When the list cannot prove an answer, an exact rescan visits live clusters
// in increasing order of a lower bound — from a 32-d PCA projection of the
// centroids, or, if that prunes little (isotropic data), from float32 copies
// of the centroids — and stops once the next bound exceeds the best exact
// distance (ward_rescan.cpp). Every answer is thus exactly what a full scan
// would give, tie rule included; WardOptions::verify_neighbours checks this
// against brute force.
//
// Why not a float32 condensed matrix with Lance-Williams updates: it would
// cost 0.64 GB at N = 17.9k and round every distance to float32, so heights
// and near-tie merge order could drift from scipy's double results.
//
// Precision: merge order equals scipy's whenever no two competing distances
// are within rounding (~1e-13 relative) of each other; exact ties (duplicate
// points) follow scipy's rule and match on the fixtures.
// Cost: the k-NN search is O(N^2 D) at the machine's multiply-add rate; the
// chain is near O(N (k + rescans)) for structured data (DINO-like
// descriptors), degrading towards O(N^2 D) streamed float32 for isotropic
// random vectors, the worst case. Memory: O(N (D + k)) — ward_linkage_bytes,
// about 108 MB at N = 17,876, D = 384, k = 32, against 0.64 GB for one
// float32 condensed matrix and 1.3 GB for scipy. The k-NN search can use a
// few threads (WardOptions::threads); the inner loops are vectorised
// (kernels.hpp). Measured at N = 17,876, D = 384 (tests/unit/bench_ward.cpp,
// one Xeon core at 2.1 GHz): 4.7 s on DINO-shaped data (2.9 s with 2 threads),
// 11 s on isotropic random unit vectors; peak +96 MB. scipy.ward on the same
// DINO-shaped size: 57 s CPU and a 2.5 GB peak (on a slower EPYC VM).
#pragma once

#include <cstdint>
#include <vector>

namespace zgseg {

// One row of scipy's linkage matrix Z: clusters a < b merge at `height` into
// cluster n + row with `count` original points.
struct WardMerge {
    int64_t a = 0, b = 0;
    double height = 0;
    int64_t count = 0;
};

struct WardOptions {
    // Candidate neighbours kept per cluster; larger lists mean fewer exact
    // rescans and more work per merge. Any value >= 1 gives the same result.
    int neighbour_list_size = 32;
    // Threads for the initial k-NN search, the O(N^2 D) part (the chain is
    // sequential). The result does not depend on it.
    int threads = 1;
    // Tests: check every nearest-neighbour answer against brute force and
    // throw zgseg::Error on any disagreement.
    bool verify_neighbours = false;
};

// Counters of one run (for benchmarks and tests).
struct WardStats {
    int64_t queries = 0;      // nearest-neighbour queries of the chain
    int64_t full_scans = 0;   // queries answered by scanning every live cluster
    double knn_seconds = 0;   // wall time of the initial k-NN search
    double chain_seconds = 0; // wall time of the chain (merges included)
};

// x: (n, d) float32 row-major, finite, n >= 2 (unit-normalised in the
// pipeline, but any finite data works). Returns n - 1 rows in scipy's layout.
// Throws zgseg::Error on bad input.
std::vector<WardMerge> ward_linkage(const float* x, int64_t n, int64_t d, const WardOptions& options = {},
                                    WardStats* stats = nullptr);

// Upper bound of the bytes ward_linkage allocates for these sizes, excluding
// the growth of the reverse-neighbour index (at most a few n * k * 4 bytes).
int64_t ward_linkage_bytes(int64_t n, int64_t d, const WardOptions& options = {});

}  // namespace zgseg
