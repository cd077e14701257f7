// First neighbour lists of the Ward engine: for every descriptor, its k
// nearest other descriptors, found with float32 dot-product tiles (the one
// O(N^2 * D) step of the clustering, done cache-blocked at the machine's
// multiply-add rate), together with a proven lower bound on the squared
// distance to every descriptor left out of the list.
//
// The float32 screening value s_ij = |x_i|^2 + |x_j|^2 - 2 x_i.x_j differs
// from the true squared distance by at most delta_i (a forward error bound
// for float32 sums, see the .cpp). Each row keeps the k smallest s_ij, so
// every row j not kept has s_ij >= s_k and hence
//   true |x_i - x_j|^2 >= s_k - delta_i = bound2[i].
// The kept candidates' distances are recomputed exactly (in double) by the
// caller; only the bound comes from float32.
#pragma once

#include <cstdint>
#include <vector>

namespace zgseg::cluster {

struct KnnCandidates {
    int64_t k = 0;                // list capacity per row
    std::vector<int32_t> ids;     // (n, k) row-major; the first count[i] are valid
    std::vector<int32_t> count;   // (n)
    std::vector<double> bound2;   // (n) lower bound on the squared distance to rows not listed (inf: all listed)
};

// x: (n, d) float32 row-major. k >= 1. `threads` workers split the pairs;
// the lists may then differ in ties, the bounds stay proven.
KnnCandidates knn_candidates(const float* x, int64_t n, int64_t d, int64_t k, int threads = 1);

// Bytes knn_candidates() allocates for these sizes (for the memory budget).
int64_t knn_candidates_bytes(int64_t n, int64_t d, int64_t k, int threads = 1);

}  // namespace zgseg::cluster
