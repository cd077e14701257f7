// Search speed and float16's cost, on synthetic embeddings (no real CLIP
// weights here). DISABLED_: run by hand,
//   build/tests/bench_search --gtest_also_run_disabled_tests
// 1. Ranking 10^6 × 768 float16 rows (the index's layout) against one query,
//    on 1 and 2 threads, and agreement with the float32 ranking of the same
//    rows: overlap of the top 10 / 100 and the largest score difference.
//    The rows are clustered (1,000 centres, cosine ≈ 0.8 within a cluster),
//    so near-ties exist as in real batches; the query is near one centre.
// 2. The freshness check a search does first (scan OUT + compare stamps),
//    on 20,000 hand-made images, per image.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <random>
#include <set>

#include "after/batch_folder.hpp"
#include "after/ranking.hpp"
#include "after/segment_index.hpp"
#include "after_fake_batch.hpp"

using namespace zgseg::after;
namespace fs = std::filesystem;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Rng {  // xorshift64*: fast enough to make 768M values in seconds
    uint64_t s;
    float uniform() {
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        return static_cast<float>((s * 2685821657736338717ull) >> 40) / static_cast<float>(1 << 24) * 2 - 1;
    }
};

}  // namespace

TEST(BenchSearch, DISABLED_RankMillionRowsFloat16VsFloat32) {
    const size_t n = 1000000, d = 768, centres = 1000;
    Rng rng{42};
    std::vector<float> centre(centres * d);
    for (auto& x : centre) x = rng.uniform();
    // Noise scale for cosine ≈ 0.8 to the centre (uniform[-1,1] has variance 1/3).
    const float noise = 0.75f;
    std::vector<float> query(centre.begin(), centre.begin() + d);
    for (auto& x : query) x += noise * rng.uniform();
    normalize(query);
    std::vector<uint16_t> rows(n * d);
    std::vector<float> exact(n), row(d);
    const double t0 = now();
    for (size_t i = 0; i < n; ++i) {
        const float* c = centre.data() + (i % centres) * d;
        for (size_t j = 0; j < d; ++j) row[j] = c[j] + noise * rng.uniform();
        normalize(row);
        double dot = 0;
        for (size_t j = 0; j < d; ++j) {
            rows[i * d + j] = float_to_half(row[j]);
            dot += static_cast<double>(row[j]) * query[j];
        }
        exact[i] = static_cast<float>(dot);  // the float32 rows' cosine
    }
    std::printf("made %zu x %zu rows in %.1f s (%.2f GB as float16)\n", n, d, now() - t0, n * d * 2 / 1e9);

    std::vector<float> scores(n);
    for (int threads : {1, 2}) {
        double best = 1e9;
        for (int rep = 0; rep < 5; ++rep) {
            const double t = now();
            dot_rows_f16(rows.data(), n, d, query.data(), scores.data(), threads);
            const auto top = top_k(scores, 10);
            best = std::min(best, now() - t);
            ASSERT_EQ(top.size(), 10u);
        }
        std::printf("rank %zu float16 rows of %zu + top 10: %.3f s on %d thread(s)\n", n, d, best, threads);
    }
    dot_rows_f16(rows.data(), n, d, query.data(), scores.data(), 2);
    double max_diff = 0;
    for (size_t i = 0; i < n; ++i) max_diff = std::max(max_diff, static_cast<double>(std::abs(scores[i] - exact[i])));
    // Float32 rank of every row among the first 2,000.
    const auto exact_top = top_k(exact, 2000);
    std::vector<size_t> exact_rank(n, 2000);
    for (size_t i = 0; i < exact_top.size(); ++i) exact_rank[exact_top[i].row] = i;
    for (size_t k : {1, 10, 100, 1000}) {
        const auto a = top_k(scores, k);
        std::set<size_t> sb;
        for (size_t i = 0; i < k; ++i) sb.insert(exact_top[i].row);
        size_t common = 0, same_position = 0, worst = 0;
        double deficit = 0;  // how much lower (float32 cosine) the float16 ranking's i-th is than float32's i-th
        for (size_t i = 0; i < k; ++i) {
            common += sb.count(a[i].row);
            same_position += a[i].row == exact_top[i].row;
            worst = std::max(worst, exact_rank[a[i].row]);
            deficit = std::max(deficit, static_cast<double>(exact_top[i].score - exact[a[i].row]));
        }
        std::printf("top %zu: %zu of %zu shared with float32, %zu at the same rank, worst float32 rank %zu, "
                    "largest cosine deficit at a rank %.1e\n", k, common, k, same_position, worst + 1, deficit);
    }
    std::printf("largest |float16 - float32| cosine over all rows: %.2e\n", max_diff);
    EXPECT_LT(max_diff, 2e-3);
}

TEST(BenchSearch, DISABLED_FreshnessCheckPerImage) {
    const fs::path dir = fs::temp_directory_path() / ("zgseg_bench_search_" + std::to_string(::getpid()));
    const size_t images = 20000;
    std::vector<float> v(768, 0.5f);
    for (size_t i = 0; i < images; ++i)
        after_test::write_fake_image(dir, "d" + std::to_string(i % 100) + "/img" + std::to_string(i), {{1, "cat", v}});
    const auto batch = scan_batch(dir);
    write_index(batch, index_path(batch), nullptr);
    const auto index = SegmentIndex::open(index_path(batch));
    double best = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
        const double t = now();
        const auto again = scan_batch(dir);
        EXPECT_TRUE(compare_with_batch(index, again).fresh());
        best = std::min(best, now() - t);
    }
    std::printf("scan + freshness check of %zu images: %.3f s (%.1f us per image, warm file cache)\n", images, best,
                best / images * 1e6);
    fs::remove_all(dir);
}
