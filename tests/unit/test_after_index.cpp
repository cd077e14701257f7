// After the batch, without networks: the batch-folder scan and its errors,
// float16 conversion and ranking kernels, the search index (write, open,
// staleness, refresh reusing unchanged rows) and the COCO export's checks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "after/batch_folder.hpp"
#include "after/coco_export.hpp"
#include "after/ranking.hpp"
#include "after/segment_index.hpp"
#include "after_fake_batch.hpp"
#include "error_of.hpp"
#include "zgseg/error.hpp"

using zgseg::testing::error_of;

using namespace zgseg;
using namespace zgseg::after;
using after_test::write_fake_image;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("zgseg_after_" + std::to_string(::getpid()) + "_" +
                                                 std::to_string(std::random_device{}()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

std::vector<float> random_vector(std::mt19937& rng, size_t d) {
    std::normal_distribution<float> n;
    std::vector<float> v(d);
    for (auto& x : v) x = n(rng);
    return v;
}

}  // namespace

TEST(AfterRanking, HalfConversionRoundTripsEveryHalf) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = half_to_float(static_cast<uint16_t>(h));
        if (std::isnan(f)) continue;
        ASSERT_EQ(float_to_half(f), h) << h;
    }
    EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), float_to_half(1.0f));         // tie → even
    EXPECT_EQ(float_to_half(1.0f + 3.0f / 2048), float_to_half(1.0f) + 2);     // tie → even (up)
    EXPECT_EQ(float_to_half(1e6f), 0x7c00);                                    // overflow → inf
    EXPECT_EQ(float_to_half(-1e-9f), 0x8000);                                  // underflow → -0
}

TEST(AfterRanking, Float16DotsMatchDoublePrecision) {
    std::mt19937 rng(1);
    const size_t n = 9000, d = 771;  // d not a multiple of 16: the scalar tail runs too
    std::vector<float> rows, q = random_vector(rng, d);
    normalize(q);
    std::vector<uint16_t> half;
    for (size_t i = 0; i < n; ++i) {
        auto v = random_vector(rng, d);
        normalize(v);
        for (float x : v) half.push_back(float_to_half(x));
        rows.insert(rows.end(), v.begin(), v.end());
    }
    std::vector<float> s16(n), s32(n);
    dot_rows_f16(half.data(), n, d, q.data(), s16.data(), 2);
    dot_rows_f32(rows.data(), n, d, q.data(), s32.data(), 2);
    double max16 = 0, max32 = 0;
    for (size_t i = 0; i < n; ++i) {
        double ref16 = 0, ref32 = 0;
        for (size_t j = 0; j < d; ++j) {
            ref16 += static_cast<double>(half_to_float(half[i * d + j])) * q[j];
            ref32 += static_cast<double>(rows[i * d + j]) * q[j];
        }
        max16 = std::max(max16, std::abs(s16[i] - ref16));
        max32 = std::max(max32, std::abs(s32[i] - ref32));
    }
    std::printf("max |float16 kernel - double| %.2e, |float32 kernel - double| %.2e\n", max16, max32);
    EXPECT_LT(max16, 1e-5);
    EXPECT_LT(max32, 1e-5);
}

TEST(AfterRanking, TopKIsOrderedWithTiesByRowAndNanLast) {
    const std::vector<float> s = {0.1f, NAN, 0.5f, 0.5f, -1.0f, 0.9f};
    const auto top = top_k(s, 10);
    ASSERT_EQ(top.size(), s.size());
    const std::vector<size_t> order = {5, 2, 3, 0, 4, 1};
    for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(top[i].row, order[i]);
    EXPECT_EQ(top_k(s, 2).size(), 2u);
}

TEST(AfterBatchFolder, ScanFindsImagesInSubfoldersAndIgnoresOtherFiles) {
    TempDir dir;
    std::mt19937 rng(2);
    write_fake_image(dir.path, "b", {{1, "cat", random_vector(rng, 8)}});
    write_fake_image(dir.path, "sub/a", {{1, "dog", random_vector(rng, 8)}, {2, "sky", random_vector(rng, 8)}});
    std::ofstream(dir.path / "coco.json") << "{}";                       // an export: not an image
    std::ofstream(dir.path / "b.json.tmp-1-2") << "half";                // a temporary file
    std::ofstream(dir.path / "summary.json") << R"({"failures": [{"input": "x.jpg", "error": "bad"}]})";
    const auto batch = scan_batch(dir.path);
    ASSERT_EQ(batch.images.size(), 2u);
    EXPECT_EQ(batch.images[0].name, "b");
    EXPECT_EQ(batch.images[1].name, "sub/a");
    EXPECT_EQ(batch.failures.size(), 1u);
    EXPECT_TRUE(batch.is_input(dir.path / "sub/a.json"));
    EXPECT_TRUE(batch.is_input(dir.path / "sub/../summary.json"));
    EXPECT_FALSE(batch.is_input(dir.path / "coco.json"));
}

TEST(AfterBatchFolder, BadFoldersGiveOneLineErrors) {
    TempDir dir;
    EXPECT_NE(error_of([&] { scan_batch(dir.path / "missing"); }).find("does not exist"), std::string::npos);
    std::ofstream(dir.path / "notes.txt") << "hello";
    EXPECT_NE(error_of([&] { scan_batch(dir.path); }).find("not a zgseg batch folder"), std::string::npos);
    std::mt19937 rng(3);
    write_fake_image(dir.path, "a", {{1, "cat", random_vector(rng, 8)}});
    write_fake_image(dir.path, "b", {{1, "dog", random_vector(rng, 8)}});
    fs::remove(dir.path / "b.json");
    const auto half = error_of([&] { scan_batch(dir.path); });
    EXPECT_NE(half.find("half-written"), std::string::npos) << half;
    EXPECT_NE(half.find("b.json"), std::string::npos) << half;
    fs::remove(dir.path / "b.embeddings.safetensors");
    fs::remove(dir.path / "b.overlay.jpg");
    fs::resize_file(dir.path / "a.json", 30);  // truncated
    const auto batch = scan_batch(dir.path);
    const auto truncated = error_of([&] { read_image_json(batch.images.at(0)); });
    EXPECT_NE(truncated.find("truncated"), std::string::npos) << truncated;
    EXPECT_EQ(truncated.find('\n'), std::string::npos);
}

TEST(AfterIndex, WritesOpensAndNoticesNewChangedAndRemovedImages) {
    TempDir dir;
    std::mt19937 rng(4);
    const auto v1 = random_vector(rng, 16), v2 = random_vector(rng, 16), v3 = random_vector(rng, 16);
    write_fake_image(dir.path, "a", {{1, "cat", v1}, {3, "big dog", v2}});
    write_fake_image(dir.path, "b", {{2, "sky", v3}});
    auto batch = scan_batch(dir.path);
    const auto file = index_path(batch);
    const auto stats = write_index(batch, file, nullptr);
    EXPECT_EQ(stats.rows, 3u);
    EXPECT_EQ(stats.clip_model, "clip-sha-A");
    auto index = SegmentIndex::open(file);
    ASSERT_EQ(index.rows(), 3u);
    EXPECT_EQ(index.dim(), 16u);
    EXPECT_EQ(index.label(1), "big dog");
    EXPECT_EQ(index.segment_id(1), 3);
    EXPECT_EQ(index.image_name(index.image_of_row(2)), "b");
    // Stored rows are the normalised embeddings, to float16 precision.
    auto n2 = v2;
    normalize(n2);
    for (size_t j = 0; j < 16; ++j) EXPECT_NEAR(half_to_float(index.embeddings()[16 + j]), n2[j], 1e-3);
    EXPECT_TRUE(compare_with_batch(index, batch).fresh());
    EXPECT_FALSE(scan_batch(dir.path).is_input(file));  // the index is ours, not the batch's

    // A changed image (new mtime), a new one, a removed one.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    write_fake_image(dir.path, "a", {{1, "cat", v2}, {3, "big dog", v1}});
    write_fake_image(dir.path, "c", {{1, "tree", v3}});
    for (const char* ext : {".json", ".embeddings.safetensors", ".overlay.jpg", ".png"}) fs::remove(dir.path / (std::string("b") + ext));
    batch = scan_batch(dir.path);
    const auto stale = compare_with_batch(index, batch);
    EXPECT_EQ(stale.added, 1u);
    EXPECT_EQ(stale.changed, 1u);
    EXPECT_EQ(stale.removed, 1u);
    const auto refreshed = write_index(batch, file, &index);
    EXPECT_EQ(refreshed.read_images, 2u);
    EXPECT_EQ(refreshed.reused_images, 0u);
    index = SegmentIndex::open(file);
    EXPECT_TRUE(compare_with_batch(index, batch).fresh());
    EXPECT_EQ(index.rows(), 3u);
    auto n1 = v1;
    normalize(n1);
    for (size_t j = 0; j < 16; ++j) EXPECT_NEAR(half_to_float(index.embeddings()[16 + j]), n1[j], 1e-3);

    // Unchanged images are copied from the old index, not re-read.
    write_fake_image(dir.path, "d", {{1, "cloud", v3}});
    batch = scan_batch(dir.path);
    const auto again = write_index(batch, file, &index);
    EXPECT_EQ(again.read_images, 1u);
    EXPECT_EQ(again.reused_images, 2u);
    const auto reopened = SegmentIndex::open(file);
    EXPECT_EQ(reopened.rows(), 4u);
    EXPECT_EQ(reopened.label(reopened.rows() - 1), "cloud");
}

TEST(AfterIndex, RefusesMixedModelsAndForeignFiles) {
    TempDir dir;
    std::mt19937 rng(5);
    write_fake_image(dir.path, "a", {{1, "cat", random_vector(rng, 8)}}, "clip-sha-A");
    write_fake_image(dir.path, "b", {{1, "dog", random_vector(rng, 8)}}, "clip-sha-B");
    const auto batch = scan_batch(dir.path);
    const auto mixed = error_of([&] { write_index(batch, index_path(batch), nullptr); });
    EXPECT_NE(mixed.find("another CLIP model"), std::string::npos) << mixed;
    std::ofstream(dir.path / "x.safetensors") << "not an index";
    const auto foreign = error_of([&] { SegmentIndex::open(dir.path / "x.safetensors"); });
    EXPECT_FALSE(foreign.empty());
}

TEST(AfterCoco, ExportsEveryImageAndSegmentWithFrequencies) {
    TempDir dir;
    std::mt19937 rng(6);
    write_fake_image(dir.path, "a", {{1, "cat", random_vector(rng, 8)}, {2, "dog", random_vector(rng, 8)}});
    write_fake_image(dir.path, "b", {{4, "cat", random_vector(rng, 8)}});
    CocoExportStats stats;
    const auto coco = coco_from_batch(scan_batch(dir.path), &stats);
    EXPECT_EQ(stats.images, 2u);
    EXPECT_EQ(stats.annotations, 3u);
    ASSERT_EQ(stats.categories, 2u);
    EXPECT_EQ(coco["categories"][0]["name"], "cat");  // most frequent first
    EXPECT_EQ(coco["categories"][0]["instance_count"], 2);
    EXPECT_EQ(coco["categories"][0]["image_count"], 2);
    EXPECT_EQ(coco["annotations"][1]["bbox"], nlohmann::json({1, 0, 1, 4}));
    EXPECT_EQ(coco["annotations"][1]["area"], 4);
    EXPECT_EQ(coco["images"][1]["file_name"], "b.jpg");

    // A mask that does not cover its image is refused, naming the file.
    auto doc = nlohmann::json::parse(std::ifstream(dir.path / "b.json"));
    doc["segments"][0]["mask"]["counts"] = "05";  // 5 pixels in a 4-pixel image
    std::ofstream(dir.path / "b.json") << doc.dump();
    const auto e = error_of([&] { coco_from_batch(scan_batch(dir.path)); });
    EXPECT_NE(e.find("b.json"), std::string::npos) << e;
}
