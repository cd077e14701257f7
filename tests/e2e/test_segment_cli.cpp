// End to end: the real zgseg binary on the VOC photos with the tiny fixture
// models and the vocabulary captioner; every output file is checked.
#include <opencv2/imgcodecs.hpp>
#include <map>
#include <set>

#include "cli_harness.hpp"
#include "io/label_png.hpp"
#include "io/rle.hpp"

using namespace e2e;

namespace {

const fs::path kPhotos = kData / "voc-sample/JPEGImages";
const fs::path kSchema = kData / "../../schema/zgseg-output.schema.json";

std::string tiny_flags(const fs::path& models, const fs::path& cache) {
    return "--models " + quote(models.string()) + " --vocab " + quote((kData / "models-tiny/vocab.txt").string()) +
           " --cache-dir " + quote(cache.string()) + " --device cpu --threads 2";
}

// Checks the four outputs of one image against each other and the schema.
void check_outputs(const fs::path& base, const fs::path& image) {
    SCOPED_TRACE(base.string());
    const cv::Mat photo = cv::imread(image.string());
    ASSERT_FALSE(photo.empty());
    const auto json = nlohmann::json::parse(slurp(base.string() + ".json"));
    const auto schema = nlohmann::json::parse(slurp(kSchema));
    EXPECT_EQ(check_schema(json, schema, schema), "");

    const cv::Mat labels = zgseg::read_label_png(base.string() + ".png");
    EXPECT_EQ(labels.cols, photo.cols);
    EXPECT_EQ(labels.rows, photo.rows);
    EXPECT_EQ(json["input"]["width"], photo.cols);
    EXPECT_EQ(json["input"]["height"], photo.rows);

    // Ids in the PNG are exactly the JSON's segments; each RLE decodes to that id's pixels.
    std::set<int> png_ids, json_ids;
    for (int y = 0; y < labels.rows; ++y)
        for (int x = 0; x < labels.cols; ++x) png_ids.insert(labels.at<int32_t>(y, x));
    ASSERT_FALSE(json["segments"].empty());
    int64_t total_area = 0;
    for (const auto& s : json["segments"]) {
        const int id = s["id"];
        json_ids.insert(id);
        zgseg::CocoRle rle;
        rle.height = s["mask"]["size"][0];
        rle.width = s["mask"]["size"][1];
        rle.counts = zgseg::rle_counts_from_string(s["mask"]["counts"].get<std::string>());
        const cv::Mat mask = zgseg::rle_decode(rle);
        ASSERT_EQ(mask.size(), labels.size());
        int64_t mismatches = 0, area = 0;
        for (int y = 0; y < labels.rows; ++y)
            for (int x = 0; x < labels.cols; ++x) {
                const bool in_png = labels.at<int32_t>(y, x) == id;
                mismatches += in_png != (mask.at<uint8_t>(y, x) != 0);
                area += in_png;
            }
        EXPECT_EQ(mismatches, 0) << "segment " << id;
        EXPECT_EQ(s["area"].get<int64_t>(), area);
        total_area += area;
        EXPECT_FALSE(s["label"].get<std::string>().empty());
        EXPECT_GE(s["candidates"].size(), 1u);
    }
    EXPECT_EQ(png_ids, json_ids);
    EXPECT_EQ(total_area, int64_t(labels.rows) * labels.cols) << "every pixel in exactly one segment";

    const cv::Mat overlay = cv::imread(base.string() + ".overlay.jpg");
    EXPECT_EQ(overlay.size(), photo.size());
    EXPECT_TRUE(fs::file_size(base.string() + ".embeddings.safetensors") > 0);
}

}  // namespace

TEST(SegmentCli, ThreeVocPhotosWithTinyModels) {
    TempDir dir;
    const auto models = make_tiny_models(dir.path / "models");
    std::string images;
    for (const char* n : {"2011_000003.jpg", "2011_000006.jpg", "2011_000025.jpg"}) images += quote((kPhotos / n).string()) + " ";
    const auto r = run_zgseg("segment " + images + "-o " + quote((dir.path / "out").string()) + " " +
                             tiny_flags(models, dir.path / "cache") + " --save-tree");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* n : {"2011_000003", "2011_000006", "2011_000025"}) {
        check_outputs(dir.path / "out" / n, kPhotos / (std::string(n) + ".jpg"));
        // The tree (--save-tree): each merged node covers exactly its children's
        // leaves; every leaf is covered by exactly one final node.
        const auto json = nlohmann::json::parse(slurp((dir.path / "out" / n).string() + ".json"));
        std::map<int64_t, std::set<int>> leaves_of;
        std::map<int, int> finals_per_leaf;
        for (const auto& node : json["tree"]) {
            leaves_of[node["heap_id"]] = node["leaves"].get<std::set<int>>();
            if (node["final"])
                for (int leaf : node["leaves"]) ++finals_per_leaf[leaf];
        }
        for (const auto& node : json["tree"]) {
            if (!node["merged"]) continue;
            std::set<int> children;
            for (int64_t c : node["children_heap_ids"]) {
                ASSERT_TRUE(leaves_of.count(c)) << "child " << c << " of merged node " << node["heap_id"];
                children.insert(leaves_of[c].begin(), leaves_of[c].end());
            }
            EXPECT_EQ(children, leaves_of[node["heap_id"]]) << n << " node " << node["heap_id"];
        }
        for (const auto& [leaf, count] : finals_per_leaf) EXPECT_EQ(count, 1) << n << " leaf " << leaf;
    }
    EXPECT_TRUE(fs::exists(dir.path / "cache")) << "vocabulary cache written";
    for (const auto& e : fs::directory_iterator(dir.path / "out"))
        EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
}

TEST(SegmentCli, MissingModelsGiveOneActionableMessage) {
    TempDir dir;
    const auto r = run_zgseg("segment " + quote((kPhotos / "2011_000003.jpg").string()) + " -o " +
                             quote((dir.path / "out").string()) + " --models " + quote((dir.path / "none").string()));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("model files missing"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("dino-vits8/model.safetensors"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("download_models.sh"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir.path / "out" / "2011_000003.json"));
}

TEST(SegmentCli, UsageErrorsExitTwo) {
    auto r = run_zgseg("segment x.jpg -o out --dino-stride 99");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--dino-stride"), std::string::npos) << r.err;
    r = run_zgseg("--no-such-flag");
    EXPECT_EQ(r.exit_code, 2);
    r = run_zgseg("batch somewhere -o out --shard 7/3");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--shard"), std::string::npos) << r.err;
}

TEST(SegmentCli, HelpAndVersion) {
    auto r = run_zgseg("--help");
    EXPECT_EQ(r.exit_code, 0);
    for (const char* sub : {"segment", "batch", "eval", "tokenize", "inspect", "bench"})
        EXPECT_NE(r.out.find(sub), std::string::npos) << sub;
    r = run_zgseg("--version");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("zgseg "), std::string::npos);
    r = run_zgseg("segment --help");
    EXPECT_NE(r.out.find("--prune-threshold"), std::string::npos);
    EXPECT_NE(r.out.find("0.9"), std::string::npos) << "defaults are shown";
}

// The paper's captioner through the binary: the tiny GPT-2 (its own tiny
// tokenizer, the forbidden list cut to its vocabulary) and tiny CLIP, short
// captions. Checks the outputs are complete and the candidates are 5 beams
// whose best (by CLIP score) gives the label.
TEST(SegmentCli, ZeroCapCaptionerWithTinyModels) {
    TempDir dir;
    const auto models = make_tiny_models(dir.path / "models");
    const fs::path gpt2 = models / "gpt2-medium";
    fs::create_directories(gpt2);
    for (const char* f : {"config.json", "model.safetensors", "vocab.json", "merges.txt"})
        fs::create_symlink(kData / "nets/gpt2_tiny" / f, gpt2 / f);
    fs::create_symlink(kData / "zerocap/forbidden_ids.txt", gpt2 / "zerocap_forbidden_tokens.txt");
    const auto photo = kPhotos / "2011_000003.jpg";
    const auto r = run_zgseg("segment " + quote(photo.string()) + " -o " + quote((dir.path / "out").string()) + " " +
                             tiny_flags(models, dir.path / "cache") +
                             " --captioner zerocap --zerocap-max-tokens 3 --zerocap-candidates 64");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    check_outputs(dir.path / "out" / "2011_000003", photo);
    const auto json = nlohmann::json::parse(slurp((dir.path / "out" / "2011_000003").string() + ".json"));
    EXPECT_EQ(json["captioner"], "zerocap");
    for (const auto& s : json["segments"]) {
        ASSERT_EQ(s["candidates"].size(), 5u);
        EXPECT_EQ(s["raw_caption"], s["candidates"][0]["text"]);
        EXPECT_DOUBLE_EQ(s["clip_score"].get<double>(), s["candidates"][0]["clip_score"].get<double>());
        for (const auto& c : s["candidates"]) EXPECT_LE(c["score"].get<double>(), 0.0);  // a mean log-probability
    }
}
