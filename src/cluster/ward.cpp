#include "cluster/ward.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "cluster/ward_engine.hpp"
#include "zgseg/error.hpp"

namespace zgseg {
namespace {

void validate(const float* x, int64_t n, int64_t d, const WardOptions& options) {
    if (n < 2)
        throw Error("ward_linkage: needs at least 2 descriptors, got " + std::to_string(n) +
                    " (the image is too small for a feature grid)");
    if (d < 1) throw Error("ward_linkage: descriptor width must be >= 1, got " + std::to_string(d));
    if (n > (int64_t(1) << 30))
        throw Error("ward_linkage: " + std::to_string(n) + " descriptors is more than supported (2^30); "
                    "use a smaller image");
    if (options.neighbour_list_size < 1)
        throw Error("ward_linkage: neighbour_list_size must be >= 1, got " +
                    std::to_string(options.neighbour_list_size));
    if (options.threads < 1 || options.threads > 256)
        throw Error("ward_linkage: threads must be in 1..256, got " + std::to_string(options.threads));
    if (x == nullptr) throw Error("ward_linkage: descriptor pointer is null");
    for (int64_t i = 0; i < n * d; ++i)
        if (!std::isfinite(x[i]))
            throw Error("ward_linkage: descriptor " + std::to_string(i / d) + " has a non-finite value at channel " +
                        std::to_string(i % d) + "; check the feature extractor's output");
}

// scipy's union-find relabelling of the height-sorted merges: each row's
// clusters become the current roots of its slots (smaller id first), and the
// row creates cluster n + row.
void relabel(std::vector<WardMerge>& rows, int64_t n) {
    std::vector<int64_t> parent(static_cast<size_t>(2 * n - 1));
    std::iota(parent.begin(), parent.end(), 0);
    std::vector<int64_t> count(static_cast<size_t>(2 * n - 1), 1);
    const auto find = [&parent](int64_t v) {
        int64_t root = v;
        while (parent[root] != root) root = parent[root];
        while (parent[v] != root) {
            const int64_t next = parent[v];
            parent[v] = root;
            v = next;
        }
        return root;
    };
    for (size_t i = 0; i < rows.size(); ++i) {
        const int64_t ra = find(rows[i].a), rb = find(rows[i].b);
        const int64_t id = n + static_cast<int64_t>(i);
        rows[i].a = std::min(ra, rb);
        rows[i].b = std::max(ra, rb);
        rows[i].count = count[ra] + count[rb];
        count[id] = rows[i].count;
        parent[ra] = parent[rb] = id;
    }
}

}  // namespace

int64_t ward_linkage_bytes(int64_t n, int64_t d, const WardOptions& options) {
    const int64_t merges = n * int64_t(sizeof(WardMerge)) * 2;  // chain order + sorted copy
    return cluster::WardEngine::bytes(n, d, options.neighbour_list_size, options.threads) + merges + n * 16;
}

std::vector<WardMerge> ward_linkage(const float* x, int64_t n, int64_t d, const WardOptions& options,
                                    WardStats* stats) {
    validate(x, n, d, options);
    if (stats) *stats = WardStats{};
    std::vector<WardMerge> chain_order;
    {
        cluster::WardEngine engine(x, n, d, options, stats);
        chain_order = engine.run();
    }
    // Stable sort by height, as scipy's argsort(kind='mergesort').
    std::vector<WardMerge> rows(chain_order.size());
    std::vector<size_t> order(chain_order.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t p, size_t q) { return chain_order[p].height < chain_order[q].height; });
    for (size_t i = 0; i < order.size(); ++i) rows[i] = chain_order[order[i]];
    relabel(rows, n);
    return rows;
}

}  // namespace zgseg
