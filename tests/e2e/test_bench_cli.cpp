// `zgseg bench` end to end on tiny random models (the same code paths as the
// full-size run: model creation in the cache folder, every stage, the report).
#include "cli_harness.hpp"

using namespace e2e;

namespace {

const char* kTinyRun = " --model-size tiny --dino-stride 8 --repeat 1 --nodes 2 --vocab-entries 16 --clip-texts 32"
                       " --caption-tokens 3 --threads 2";

const nlohmann::json* row(const nlohmann::json& report, const std::string& name) {
    for (const auto& r : report["rows"])
        if (r["name"] == name) return &r;
    return nullptr;
}

}  // namespace

TEST(BenchCli, TinyRunTimesEveryDefaultStageAndWritesTheReport) {
    TempDir dir;
    const fs::path out = dir.path / "bench.json";
    const auto r = run_zgseg("bench" + std::string(kTinyRun) + " --cache-dir " + quote((dir.path / "cache").string()) +
                             " -o " + quote(out.string()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto report = nlohmann::json::parse(slurp(out));

    // The random models were made once, in the cache folder, in the Hugging Face layout.
    EXPECT_EQ(report["models"]["created"].size(), 4u);
    for (const char* f : {"dino-vits8/model.safetensors", "clip-vit-large-patch14-336/vocab.json",
                          "gpt2-medium/config.json", "all-mpnet-base-v2/1_Pooling/config.json"})
        EXPECT_TRUE(fs::exists(dir.path / "cache" / "tiny" / f)) << f;

    for (const char* name : {"image", "dino_keys", "ward", "prune", "crf", "vocab_cache", "embedding", "caption",
                             "merging", "outputs", "clip_text", "gpt2_iteration", "mpnet", "zerocap_steps"}) {
        const auto* t = row(report, name);
        ASSERT_TRUE(t) << "missing row " << name;
        EXPECT_EQ((*t)["kind"], "timed") << name;
        EXPECT_EQ((*t)["reps"], 1) << name;
        EXPECT_GT((*t)["min_s"].get<double>(), 0) << name;
        EXPECT_GE((*t)["median_s"].get<double>(), (*t)["min_s"].get<double>()) << name;
        EXPECT_GT((*t)["peak_rss_mib"].get<double>(), 0) << name;
    }
    for (const char* name : {"dino_keys", "embedding", "caption", "clip_text", "gpt2_iteration", "mpnet", "vocab_cache"}) {
        EXPECT_GT((*row(report, name))["gflop"].get<double>(), 0) << name;
        EXPECT_GT((*row(report, name))["gflops_per_s"].get<double>(), 0) << name;
    }
    EXPECT_TRUE((*row(report, "ward"))["gflop"].is_null());  // not a matrix-product workload
    // --dino-stride 8 on the 500×338 photo: 331×224 → 1 + 216/8 = 28 by 1 + 323/8 = 41 patches.
    EXPECT_NE((*row(report, "dino_keys"))["note"].get<std::string>().find("28×41 = 1148 tokens"), std::string::npos)
        << (*row(report, "dino_keys"))["note"];

    for (const char* name : {"vocab_cache_full", "zerocap_token_step", "zerocap_caption", "image_total_vocab",
                             "image_total_zerocap"}) {
        const auto* d = row(report, name);
        ASSERT_TRUE(d) << "missing row " << name;
        EXPECT_EQ((*d)["kind"], "extrapolated") << name;
    }
    // ZeroCap's 3-token caption = step 0 + 2 later steps = the timed steps 0 and 1 + one more later step.
    const double steps = (*row(report, "zerocap_steps"))["min_s"].get<double>();
    const double later = (*row(report, "zerocap_token_step"))["min_s"].get<double>();
    EXPECT_GT(later, 0);
    EXPECT_LT(later, steps);
    EXPECT_NEAR((*row(report, "zerocap_caption"))["min_s"].get<double>(), steps + later, 1e-9);
    EXPECT_NE((*row(report, "zerocap_steps"))["note"].get<std::string>().find("the reference's way"), std::string::npos);
    EXPECT_FALSE(row(report, "zerocap_steps_reference"));  // not in the default set (~35 min at full size)

    for (const char* key : {"cpu", "libtorch", "blas", "os"})
        EXPECT_FALSE(report["machine"][key].get<std::string>().empty()) << key;
    EXPECT_EQ(report["machine"]["torch_threads"], 2);
    EXPECT_EQ(report["random_weights"].size(), 4u);
    EXPECT_NE(r.out.find("| stage | reps | min | median |"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("| dino_keys |"), std::string::npos) << r.out;
}

TEST(BenchCli, ReusesTheModelsAndTimesOnlyTheChosenStages) {
    TempDir dir;
    const std::string common = "bench" + std::string(kTinyRun) + " --cache-dir " + quote((dir.path / "cache").string());
    ASSERT_EQ(run_zgseg(common + " --stages image -o " + quote((dir.path / "a.json").string())).exit_code, 0);

    // ward reads the DINO keys: dino_keys runs untimed and is not reported.
    const auto r = run_zgseg(common + " --stages image,ward -o " + quote((dir.path / "b.json").string()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto report = nlohmann::json::parse(slurp(dir.path / "b.json"));
    EXPECT_TRUE(report["models"]["created"].empty());
    ASSERT_EQ(report["rows"].size(), 2u) << report["rows"].dump();
    EXPECT_EQ(report["rows"][0]["name"], "image");
    EXPECT_EQ(report["rows"][1]["name"], "ward");
}

TEST(BenchCli, ZeroCapSideBySideWithTheReferencesWay) {
    TempDir dir;
    const auto out = dir.path / "z.json";
    const auto r = run_zgseg("bench" + std::string(kTinyRun) + " --quick --cache-dir " +
                             quote((dir.path / "cache").string()) +
                             " --stages zerocap_steps,zerocap_steps_reference -o " + quote(out.string()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto report = nlohmann::json::parse(slurp(out));
    const auto* reference = row(report, "zerocap_steps_reference");
    ASSERT_TRUE(reference);
    EXPECT_EQ((*reference)["kind"], "timed");
    // --quick: 1 of the 5 iterations per step, and the note says so.
    EXPECT_NE((*reference)["note"].get<std::string>().find("1 of 5 shift iterations per step (--quick)"),
              std::string::npos) << (*reference)["note"];
    const auto* side = row(report, "zerocap_speedup");
    ASSERT_TRUE(side);
    const auto note = (*side)["note"].get<std::string>();
    for (const char* part : {"x faster", "CLIP-text FLOPs", "step-cache hit rate", "x iterations"})
        EXPECT_NE(note.find(part), std::string::npos) << part << " not in: " << note;
    // Scaled to all 5 iterations.
    EXPECT_NEAR((*side)["min_s"].get<double>(), 5 * (*reference)["min_s"].get<double>(), 1e-9);
}

TEST(BenchCli, RefusesAnExistingReportBeforeRunning) {
    TempDir dir;
    std::ofstream(dir.path / "bench.json") << "{}";
    const auto r = run_zgseg("bench --model-size tiny --cache-dir " + quote((dir.path / "cache").string()) + " -o " +
                             quote((dir.path / "bench.json").string()));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("--overwrite"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir.path / "cache"));  // nothing was made
    EXPECT_EQ(slurp(dir.path / "bench.json"), "{}");
}

TEST(BenchCli, UnknownStageIsAUsageError) {
    TempDir dir;
    const auto r = run_zgseg("bench --model-size tiny --stages dino,ward --cache-dir " +
                             quote((dir.path / "cache").string()) + " -o " + quote((dir.path / "b.json").string()));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("unknown stage 'dino'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("dino_keys"), std::string::npos) << r.err;
}

TEST(BenchCli, TimesTheModelFoldersGivenWithModels) {
    TempDir dir;
    const auto models = make_tiny_models(dir.path / "models");  // DINO and CLIP only
    const std::string common = "bench --models " + quote(models.string()) +
                               " --dino-stride 8 --repeat 1 --nodes 2 --threads 2 -o " +
                               quote((dir.path / "b.json").string()) + " --overwrite";
    const auto r = run_zgseg(common + " --stages dino_keys,embedding");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto report = nlohmann::json::parse(slurp(dir.path / "b.json"));
    EXPECT_EQ(report["models"]["random_weights"], false);
    EXPECT_EQ(report["models"]["folder"], models.string());
    EXPECT_TRUE(report["random_weights"].empty());
    EXPECT_EQ(report["rows"].size(), 2u);
    EXPECT_FALSE(report["models"].contains("created"));  // no random models were made

    // A stage whose network is missing: refused up front, naming the files.
    const auto missing = run_zgseg(common + " --stages gpt2_iteration");
    EXPECT_EQ(missing.exit_code, 1) << missing.err;
    EXPECT_NE(missing.err.find("gpt2-medium"), std::string::npos) << missing.err;
}
