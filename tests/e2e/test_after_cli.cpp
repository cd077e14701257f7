// After the batch, end to end: `zgseg batch` on VOC sample photos with the
// tiny models (--preset fast keeps it short), then `zgseg export` (loaded
// with pycocotools from .venv), `zgseg search` with and without `zgseg index`,
// and the bad inputs: a folder that is not a batch, a half-written or
// truncated image, an index or batch made by another CLIP model, an output
// that exists or is one of the batch's own files.
#include <sstream>

#include "cli_harness.hpp"
#include "core/safetensors.hpp"

using namespace e2e;

namespace {

const fs::path kVoc = kData / "voc-sample/JPEGImages";
const fs::path kPython = fs::path(ZGSEG_TEST_DATA) / "../../.venv/bin/python";

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(slurp(p)); }

int count_lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

class AfterCli : public ::testing::Test {
protected:
    void SetUp() override { models_ = make_tiny_models(dir_.path / "models"); }

    // A batch of the first `n` sample photos into OUT.
    fs::path batch(int n) {
        const fs::path in = dir_.path / "in", out = dir_.path / "out";
        fs::create_directories(in);
        const char* names[] = {"2011_000003.jpg", "2011_000006.jpg", "2011_000025.jpg"};
        for (int i = 0; i < n; ++i) fs::copy_file(kVoc / names[i], in / names[i]);
        const auto r = run_zgseg("batch " + quote(in.string()) + " -o " + quote(out.string()) + " --models " +
                                 quote(models_.string()) + " --vocab " + quote((kData / "models-tiny/vocab.txt").string()) +
                                 " --cache-dir " + quote((dir_.path / "cache").string()) +
                                 " --preset fast --device cpu --threads 2");
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return out;
    }
    RunResult search(const fs::path& out, const std::string& query, const std::string& extra = "") const {
        return run_zgseg("search " + quote(out.string()) + " " + quote(query) + " --models " + quote(models_.string()) +
                         " --device cpu --threads 2 --json" + extra);
    }
    // Exit code 1 and the zgseg::Error as one line on stderr, mentioning
    // `what` (info lines logged before it, like "refreshing the index", may precede it).
    static void expect_one_line_error(const RunResult& r, const std::string& what) {
        EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
        std::istringstream lines(r.err);
        int errors = 0, others = 0;
        for (std::string line; std::getline(lines, line);) {
            if (line.find("] error ") != std::string::npos) {
                ++errors;
                EXPECT_NE(line.find(what), std::string::npos) << r.err;
                EXPECT_EQ(line.find("internal error"), std::string::npos) << r.err;
            } else if (line.find("] info ") == std::string::npos) {
                ++others;
            }
        }
        EXPECT_EQ(errors, 1) << r.err;
        EXPECT_EQ(others, 0) << r.err;
    }

    TempDir dir_;
    fs::path models_;
};

// Replaces the image embedding of `segment` by its stored text embedding (the
// CLIP embedding of "Image of a {label}."), so a search for its label must
// find it first with cosine ≈ 1.
void make_segment_match_its_label(const fs::path& embeddings, int segment) {
    std::string bytes;
    {
        const auto file = zgseg::SafetensorsFile::open(embeddings);
        std::vector<zgseg::TensorView> views = file.tensors();
        const auto* text = file.find("segment/" + std::to_string(segment) + "/text");
        ASSERT_NE(text, nullptr);
        for (auto& v : views)
            if (v.name == "segment/" + std::to_string(segment) + "/image") v.data = text->data;
        bytes = zgseg::serialize_safetensors(views, file.metadata());
    }
    std::ofstream(embeddings, std::ios::binary) << bytes;
}

}  // namespace

TEST_F(AfterCli, ExportLoadsWithPycocotools) {
    const auto out = batch(2);
    const fs::path coco = dir_.path / "coco.json";
    auto r = run_zgseg("export " + quote(out.string()) + " --format coco -o " + quote(coco.string()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The expected counts and areas, from the NAME.json files themselves.
    size_t segments = 0;
    double area = 0;
    for (const char* n : {"2011_000003", "2011_000006"}) {
        const auto doc = read_json(out / (std::string(n) + ".json"));
        for (const auto& s : doc["segments"]) {
            ++segments;
            area += s["area"].get<double>();
        }
    }
    ASSERT_TRUE(fs::exists(kPython)) << "no " << kPython << ": run scripts/setup.sh --tests";
    const std::string script =
        "import json,sys\n"
        "from pycocotools.coco import COCO\n"
        "from pycocotools import mask as M\n"
        "c=COCO(sys.argv[1])\n"
        "anns=c.loadAnns(c.getAnnIds())\n"
        "dec=sum(int(M.decode(c.annToRLE(a)).sum()) for a in anns)\n"
        "assert all(abs(float(M.area(c.annToRLE(a)))-a['area'])<1e-9 for a in anns)\n"
        "assert all([round(v) for v in M.toBbox(c.annToRLE(a)).tolist()]==[round(v) for v in a['bbox']] for a in anns)\n"
        "res=c.loadRes(json.load(open(sys.argv[1]))['annotations'])\n"
        "print(len(c.getImgIds()), len(anns), len(c.getCatIds()), dec, len(res.getAnnIds()))\n";
    std::ofstream(dir_.path / "check.py") << script;
    const std::string cmd = quote(kPython.string()) + " " + quote((dir_.path / "check.py").string()) + " " +
                            quote(coco.string()) + " > " + quote((dir_.path / "py.out").string()) + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(dir_.path / "py.out") << "(pycocotools missing? run scripts/setup.sh --tests)";
    std::istringstream py(slurp(dir_.path / "py.out"));
    std::string last, line;
    while (std::getline(py, line)) last = line;  // pycocotools prints progress lines first
    std::istringstream counts(last);
    size_t images = 0, anns = 0, cats = 0, res = 0;
    double decoded = 0;
    counts >> images >> anns >> cats >> decoded >> res;
    EXPECT_EQ(images, 2u);
    EXPECT_EQ(anns, segments);
    EXPECT_EQ(res, segments);
    EXPECT_GE(cats, 1u);
    EXPECT_EQ(decoded, area);
    const auto doc = read_json(coco);
    size_t instances = 0;
    for (const auto& c : doc["categories"]) instances += c["instance_count"].get<size_t>();
    EXPECT_EQ(instances, segments);

    // Never over an existing file without --overwrite, never over the batch's own files.
    expect_one_line_error(run_zgseg("export " + quote(out.string()) + " -o " + quote(coco.string())), "--overwrite");
    EXPECT_EQ(run_zgseg("export " + quote(out.string()) + " -o " + quote(coco.string()) + " --overwrite").exit_code, 0);
    const std::string before = slurp(out / "2011_000003.json");
    expect_one_line_error(run_zgseg("export " + quote(out.string()) + " -o " + quote((out / "2011_000003.json").string()) +
                                    " --overwrite"),
                          "file of the batch itself");
    EXPECT_EQ(slurp(out / "2011_000003.json"), before);
}

TEST_F(AfterCli, SearchFindsASegmentByItsLabelWithAndWithoutIndex) {
    const auto out = batch(2);
    const auto doc = read_json(out / "2011_000006.json");
    ASSERT_FALSE(doc["segments"].empty());
    const auto& seg = doc["segments"].back();
    const int id = seg["id"].get<int>();
    const std::string label = seg["label"].get<std::string>();
    make_segment_match_its_label(out / "2011_000006.embeddings.safetensors", id);

    auto check_first = [&](const RunResult& r, const std::string& index_state) {
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["index"], index_state);
        ASSERT_FALSE(j["results"].empty());
        const auto& first = j["results"][0];
        EXPECT_EQ(first["image"], "2011_000006");
        EXPECT_EQ(first["segment_id"], id);
        EXPECT_EQ(first["label"], label);
        EXPECT_NEAR(first["score"].get<double>(), 1.0, index_state == "none" ? 1e-5 : 2e-3);  // else float16
        if (j["results"].size() > 1) {
            EXPECT_LT(j["results"][1]["score"].get<double>(), first["score"].get<double>());
        }
    };
    check_first(search(out, label), "none");
    expect_one_line_error(search(out, label, " --trust-index"), "run zgseg index");
    const auto idx = run_zgseg("index " + quote(out.string()));
    ASSERT_EQ(idx.exit_code, 0) << idx.err;
    ASSERT_TRUE(fs::exists(out / "zgseg-index.safetensors"));
    check_first(search(out, label), "fresh");
    check_first(search(out, label, " --trust-index"), "trusted");
    EXPECT_EQ(run_zgseg("index " + quote(out.string())).exit_code, 0);  // up to date: nothing to do

    // Change another image: the index notices and refreshes, and the ranking follows.
    const auto doc3 = read_json(out / "2011_000003.json");
    const int id3 = doc3["segments"][0]["id"].get<int>();
    const std::string label3 = doc3["segments"][0]["label"].get<std::string>();
    make_segment_match_its_label(out / "2011_000003.embeddings.safetensors", id3);
    const auto r = search(out, label3, " --top 1");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["index"], "refreshed");
    EXPECT_EQ(j["results"].size(), 1u);
    EXPECT_EQ(j["results"][0]["image"], "2011_000003");
    EXPECT_EQ(j["results"][0]["segment_id"], id3);

    // The plain output: a header and one line per result.
    const auto plain = run_zgseg("search " + quote(out.string()) + " " + quote(label) + " --top 2 --models " +
                                 quote(models_.string()) + " --device cpu");
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_EQ(count_lines(plain.out), 3) << plain.out;
    EXPECT_NE(plain.out.find("2011_000006: " + label), std::string::npos) << plain.out;
}

TEST_F(AfterCli, BadBatchesGiveOneLineErrors) {
    const auto out = batch(2);
    // Not a batch folder.
    fs::create_directories(dir_.path / "empty");
    std::ofstream(dir_.path / "empty/notes.txt") << "x";
    expect_one_line_error(search(dir_.path / "empty", "cat"), "not a zgseg batch folder");
    expect_one_line_error(run_zgseg("index " + quote((dir_.path / "missing").string())), "does not exist");
    expect_one_line_error(run_zgseg("export " + quote((dir_.path / "empty").string()) + " -o " +
                                    quote((dir_.path / "c.json").string())),
                          "not a zgseg batch folder");

    // An index, then a search with another CLIP model (same network, another config.json).
    ASSERT_EQ(run_zgseg("index " + quote(out.string())).exit_code, 0);
    const fs::path other = dir_.path / "other-models";
    make_tiny_models(other);
    const fs::path config = other / "clip-vit-large-patch14-336/config.json";
    auto cfg = read_json(config);
    fs::remove(config);
    cfg["_name_or_path"] = "another-clip";
    std::ofstream(config) << cfg.dump(2);
    const std::string with_other = " --models " + quote(other.string()) + " --device cpu";
    expect_one_line_error(run_zgseg("search " + quote(out.string()) + " cat" + with_other), "another CLIP model");
    expect_one_line_error(run_zgseg("search " + quote(out.string()) + " cat --no-index" + with_other), "another CLIP model");

    // A foreign file where the index goes: refused unless --overwrite.
    std::ofstream(out / "zgseg-index.safetensors") << "not an index";
    expect_one_line_error(run_zgseg("index " + quote(out.string())), "--overwrite");
    EXPECT_EQ(run_zgseg("index " + quote(out.string()) + " --overwrite").exit_code, 0);

    // Half-written: NAME.json missing while the image's other files exist.
    const std::string saved = slurp(out / "2011_000006.json");
    fs::remove(out / "2011_000006.json");
    expect_one_line_error(search(out, "cat"), "half-written");
    expect_one_line_error(run_zgseg("export " + quote(out.string()) + " -o " + quote((dir_.path / "c.json").string())),
                          "half-written");
    expect_one_line_error(run_zgseg("report " + quote(out.string())), "half-written");
    // Truncated NAME.json.
    std::ofstream(out / "2011_000006.json") << saved.substr(0, saved.size() / 2);
    expect_one_line_error(search(out, "cat"), "truncated");
    expect_one_line_error(run_zgseg("index " + quote(out.string())), "truncated");
    expect_one_line_error(run_zgseg("export " + quote(out.string()) + " -o " + quote((dir_.path / "c.json").string())),
                          "truncated");
    EXPECT_FALSE(fs::exists(dir_.path / "c.json"));
}
