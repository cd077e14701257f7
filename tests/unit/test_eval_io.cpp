// Reading evaluation inputs: class lists, ground-truth label maps, the image
// list and zgseg prediction files, including the bad inputs the CLI must
// report clearly (one message naming the file and the problem).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "eval/dataset.hpp"
#include "eval/prediction.hpp"
#include "eval/report.hpp"
#include "io/label_png.hpp"
#include "zgseg/error.hpp"

using namespace zgseg::eval;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("zgseg_eval_io_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// Runs f, expects a zgseg::Error whose message contains every needle.
template <class F>
void expect_error(F f, std::initializer_list<std::string> needles) {
    try {
        f();
        ADD_FAILURE() << "no error thrown";
    } catch (const zgseg::Error& e) {
        const std::string msg = e.what();
        for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    }
}

cv::Mat filled(int rows, int cols, int value) { return cv::Mat(rows, cols, CV_32S, cv::Scalar(value)); }

}  // namespace

TEST(EvalIo, ClassFileErrors) {
    TempDir dir;
    expect_error([&] { read_class_file(dir.path / "nope.txt"); }, {"nope.txt", "--classes"});
    write(dir.path / "bad.txt", "1: cat\ndog\n");
    expect_error([&] { read_class_file(dir.path / "bad.txt"); }, {"bad.txt", "line 2", "ID: NAME"});
    write(dir.path / "dup.txt", "1: cat\n1: dog\n");
    expect_error([&] { read_class_file(dir.path / "dup.txt"); }, {"dup.txt", "twice"});
    write(dir.path / "empty.txt", "# nothing\n\n");
    expect_error([&] { read_class_file(dir.path / "empty.txt"); }, {"empty.txt", "no 'ID: NAME'"});
    write(dir.path / "far.txt", "21: giraffe\n");
    expect_error([&] { make_dataset("voc20", dir.path / "far.txt"); }, {"far.txt", "21", "PAS-20"});
    expect_error([&] { make_dataset("coco"); }, {"coco", "voc20"});

    write(dir.path / "mine.txt", "# my names\n8: kitty cat\n12 : dog  \n");
    const Dataset d = make_dataset("voc20", dir.path / "mine.txt");
    ASSERT_EQ(d.classes.size(), 2u);
    EXPECT_EQ(d.classes[0].name, "kitty cat");
    EXPECT_EQ(d.class_index(12), 1);
}

TEST(EvalIo, GroundTruthWithOutOfRangeLabel) {
    TempDir dir;
    cv::Mat labels = filled(3, 4, 0);
    labels.at<int32_t>(1, 2) = 21;  // VOC has 0..20 and 255
    zgseg::write_label_png(dir.path / "gt.png", labels, false);
    expect_error([&] { read_ground_truth(dir.path / "gt.png", make_dataset("voc20")); },
                 {"gt.png", "label 21", "(2, 1)", "PAS-20"});
    labels.at<int32_t>(1, 2) = 255;
    zgseg::write_label_png(dir.path / "ok.png", labels, false);
    EXPECT_EQ(read_ground_truth(dir.path / "ok.png", make_dataset("voc20")).at<int32_t>(1, 2), 255);
    // PASCAL-Context: 0..459, 460 is out of range; 255 is an ordinary id there.
    EXPECT_EQ(read_ground_truth(dir.path / "ok.png", make_dataset("pc459")).at<int32_t>(1, 2), 255);
    labels.at<int32_t>(0, 0) = 460;
    zgseg::write_label_png(dir.path / "pc.png", labels, false);
    expect_error([&] { read_ground_truth(dir.path / "pc.png", make_dataset("pc59")); }, {"pc.png", "label 460", "PC-59"});
}

TEST(EvalIo, ImageListIsNaturalAndLimited) {
    TempDir dir;
    expect_error([&] { list_images(dir.path, 0); }, {"SegmentationClass", "--data"});
    fs::create_directories(dir.path / "SegmentationClass");
    for (const char* n : {"img10", "img2", "img1"}) zgseg::write_label_png(dir.path / "SegmentationClass" / (std::string(n) + ".png"), filled(1, 1, 0), false);
    EXPECT_EQ(list_images(dir.path, 0), (std::vector<std::string>{"img1", "img2", "img10"}));
    EXPECT_EQ(list_images(dir.path, 2), (std::vector<std::string>{"img1", "img2"}));
    write(dir.path / "val.txt", "img10\nimg2\n\n");
    EXPECT_EQ(list_images(dir.path, 0), (std::vector<std::string>{"img2", "img10"}));
}

TEST(EvalIo, PredictionFiles) {
    TempDir dir;
    EXPECT_FALSE(read_prediction(dir.path, "absent").has_value()) << "missing → nullopt, not an error";

    write(dir.path / "broken.json", "{\"segments\": [");
    expect_error([&] { read_prediction(dir.path, "broken"); }, {"broken.json", "not valid JSON"});
    write(dir.path / "noseg.json", "{\"input\": {}}");
    expect_error([&] { read_prediction(dir.path, "noseg"); }, {"noseg.json", "'segments'"});
    write(dir.path / "badid.json", R"({"segments": [{"id": "one", "label": "cat"}]})");
    expect_error([&] { read_prediction(dir.path, "badid"); }, {"badid.json", "segments[0]", "'id'"});
    write(dir.path / "nopng.json", R"({"segments": [{"id": 1, "label": "cat"}]})");
    expect_error([&] { read_prediction(dir.path, "nopng"); }, {"nopng.json", "nopng.png", "missing"});

    write(dir.path / "ok.json", R"({"segments": [{"id": 2, "label": "a cat"}, {"id": 5, "label": "grass",
        "embedding_keys": {"image": "segment/5/image", "text": "segment/5/text"}}]})");
    cv::Mat seg = filled(2, 3, 2);
    seg.at<int32_t>(0, 0) = 5;
    zgseg::write_label_png(dir.path / "ok.png", seg, false);
    const auto p = read_prediction(dir.path, "ok");
    ASSERT_TRUE(p.has_value());
    ASSERT_EQ(p->segments.size(), 2u);
    EXPECT_EQ(p->segments[0].label, "a cat");
    EXPECT_EQ(p->segments[1].image_key, "segment/5/image");
    EXPECT_EQ(p->label_map.at<int32_t>(0, 0), 5);
    expect_error([&] { read_image_embeddings(*p); }, {"ok.embeddings.safetensors"});
}

TEST(EvalIo, ReportsAreWellFormed) {
    TempDir dir;
    const Dataset d = make_dataset("voc20");
    EvalReport r;
    r.dataset = &d;
    r.parameters = {{"dataset", "voc20"}, {"tau_sbert", 0.5}};
    r.images_listed = 2;
    r.missing = {"gone"};
    r.main.emplace_back(d, Setting{"tt", 0.5}, true);
    const cv::Mat gt = filled(2, 2, 8), seg = filled(2, 2, 1);
    r.main.back().add("x", JointCounts(gt, seg), {{1, d.class_index(8)}}, 1);
    r.sweep.push_back(r.main.back().summary());
    const std::string table = format_tables(r);
    EXPECT_NE(table.find("PAS-20, 1 of 2 images scored (1 missing prediction"), std::string::npos) << table;
    EXPECT_NE(table.find("100.0"), std::string::npos) << table;
    EXPECT_NE(table.find("gone"), std::string::npos) << table;

    write_reports(dir.path, r, false);
    std::ifstream json_in(dir.path / "eval.json");
    const auto j = nlohmann::json::parse(json_in);
    EXPECT_EQ(j["images"]["missing"][0], "gone");
    EXPECT_DOUBLE_EQ(j["results"][0]["iou"].get<double>(), 1.0);
    EXPECT_EQ(j["results"][0]["per_class"].size(), 20u);
    EXPECT_TRUE(j["results"][0]["per_class"][0]["iou"].is_null()) << "aeroplane never scored";
    EXPECT_EQ(j["results"][0]["recall_curve"]["recall"].size(), 101u);

    std::ifstream csv_in(dir.path / "eval.csv");
    std::string header, line;
    std::getline(csv_in, header);
    EXPECT_EQ(header, "section,reassign,threshold,image,class,metric,value");
    int rows = 0;
    while (std::getline(csv_in, line)) {
        ++rows;
        EXPECT_EQ(std::count(line.begin(), line.end(), ','), 6) << line;
    }
    EXPECT_GT(rows, 300);
    expect_error([&] { write_reports(dir.path, r, false); }, {"eval.json", "--overwrite"});
    write_reports(dir.path, r, true);
}

// Text Generation Quality's ground-truth segments: one per class present, in
// id order; VOC background (0) and ignore (255) belong to none.
TEST(EvalIo, GroundTruthSegments) {
    const Dataset voc = make_dataset("voc20");
    cv::Mat gt(3, 4, CV_32S, cv::Scalar(0));
    gt.at<int32_t>(0, 0) = 15;  // person
    gt.at<int32_t>(2, 3) = 15;
    gt.at<int32_t>(1, 1) = 3;   // bird
    gt.at<int32_t>(1, 2) = 255;
    const auto segments = ground_truth_segments(gt, voc);
    ASSERT_EQ(segments.size(), 2u);
    EXPECT_EQ(voc.classes[static_cast<size_t>(segments[0].class_index)].id, 3);
    EXPECT_EQ(voc.classes[static_cast<size_t>(segments[1].class_index)].id, 15);
    EXPECT_EQ(cv::countNonZero(segments[0].mask), 1);
    EXPECT_EQ(segments[0].mask.at<uint8_t>(1, 1), 1);
    EXPECT_EQ(cv::countNonZero(segments[1].mask), 2);
    EXPECT_EQ(segments[1].mask.at<uint8_t>(0, 0), 1);
    EXPECT_EQ(segments[1].mask.at<uint8_t>(2, 3), 1);
    EXPECT_EQ(segments[1].mask.size(), gt.size());
    EXPECT_TRUE(ground_truth_segments(cv::Mat(2, 2, CV_32S, cv::Scalar(255)), voc).empty());
}
