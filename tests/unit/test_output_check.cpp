// The checks --resume runs before it counts an image complete: each kind of
// damage is caught, whole files pass, and the JSON's required fields are the
// schema's. (Through the binary: tests/e2e/test_batch_cli.cpp.)
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "core/safetensors.hpp"
#include "io/atomic_file.hpp"
#include "io/label_png.hpp"
#include "io/output_check.hpp"

namespace fs = std::filesystem;
using namespace zgseg;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("zgseg_check_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

fs::path make_png(const fs::path& dir, int width, int height) {
    cv::Mat labels(5, 4, CV_32S);
    for (int i = 0; i < labels.rows * labels.cols; ++i) labels.at<int32_t>(i) = 1 + i % 3;
    const fs::path p = dir / "labels.png";
    write_label_png(p, labels, cv::Size(width, height), true);
    return p;
}

nlohmann::json schema() {
    std::ifstream in(fs::path(ZGSEG_TEST_DATA) / "../../schema/zgseg-output.schema.json");
    return nlohmann::json::parse(in);
}

// A JSON document that passes output_json_problem, built from the schema's lists.
nlohmann::json good_doc() {
    nlohmann::json doc = {{"schema_version", 1}, {"zgseg_version", "x"}, {"models", {{"folder", "m"}}},
                          {"parameters", {{"a", 1}}}, {"device", "cpu"}, {"captioner", "vocab"},
                          {"timings_seconds", nlohmann::json::object()}, {"work_size", {{"width", 4}, {"height", 5}}},
                          {"files", {{"label_map", "a.png"}, {"embeddings", "a.e"}, {"overlay", "a.o"}}}};
    doc["input"] = {{"path", "p"}, {"width", 8}, {"height", 10}, {"sha256", std::string(64, '0')}, {"format", "png"}};
    nlohmann::json segment = nlohmann::json::object();
    const nlohmann::json s = schema();
    for (const auto& key : s["$defs"]["segment"]["required"]) segment[key.get<std::string>()] = 0;
    for (const auto& key : s["$defs"]["node"]["required"]) segment[key.get<std::string>()] = 0;
    segment["embedding_keys"] = {{"image", "segment/1/image"}, {"text", "segment/1/text"}};
    doc["segments"] = {segment};
    return doc;
}

}  // namespace

TEST(OutputCheck, WholePngPasses) {
    TempDir tmp;
    EXPECT_EQ(png_problem(make_png(tmp.path, 9, 7), 9, 7), "");
}

TEST(OutputCheck, PngOfAnotherSizeFails) {
    TempDir tmp;
    EXPECT_NE(png_problem(make_png(tmp.path, 9, 7), 9, 8).find("is not the 9x8"), std::string::npos);
}

TEST(OutputCheck, EveryTruncationOfAPngFails) {
    TempDir tmp;
    const fs::path p = make_png(tmp.path, 33, 21);
    const std::string whole = read_bytes(p);
    const fs::path cut = tmp.path / "cut.png";
    for (size_t n = 0; n < whole.size(); ++n) {
        write_bytes(cut, whole.substr(0, n));
        EXPECT_NE(png_problem(cut, 33, 21), "") << "cut at " << n << " of " << whole.size();
    }
}

TEST(OutputCheck, AFlippedBitInAnyChunkFailsItsCrc) {
    TempDir tmp;
    const fs::path p = make_png(tmp.path, 33, 21);
    const std::string whole = read_bytes(p);
    const fs::path bad = tmp.path / "bad.png";
    for (size_t i = 8; i < whole.size(); i += 7) {  // every 7th byte after the signature
        std::string bytes = whole;
        bytes[i] ^= 0x10;
        write_bytes(bad, bytes);
        EXPECT_NE(png_problem(bad, 33, 21), "") << "byte " << i;
    }
    write_bytes(bad, whole + "x");
    EXPECT_NE(png_problem(bad, 33, 21).find("after IEND"), std::string::npos);
}

TEST(OutputCheck, JpegNeedsSoiAndEoi) {
    TempDir tmp;
    std::vector<uchar> jpeg;
    cv::imencode(".jpg", cv::Mat(16, 16, CV_8UC3, cv::Scalar(10, 200, 30)), jpeg);
    const std::string whole(jpeg.begin(), jpeg.end());
    const fs::path p = tmp.path / "o.jpg";
    write_bytes(p, whole);
    EXPECT_EQ(jpeg_problem(p), "");
    write_bytes(p, whole.substr(0, whole.size() - 1));
    EXPECT_NE(jpeg_problem(p).find("EOI"), std::string::npos);
    write_bytes(p, whole.substr(2));
    EXPECT_NE(jpeg_problem(p).find("SOI"), std::string::npos);
    write_bytes(p, "");
    EXPECT_NE(jpeg_problem(p), "");
}

TEST(OutputCheck, SafetensorsMustHoldEveryNamedTensor) {
    TempDir tmp;
    const std::vector<float> a = {1, 2, 3}, empty;
    const std::string bytes = serialize_safetensors(
        {{"segment/1/image", DType::F32, {3}, reinterpret_cast<const uint8_t*>(a.data()), 12},
         {"segment/1/text", DType::F32, {0}, reinterpret_cast<const uint8_t*>(empty.data()), 0}},
        {});
    const fs::path p = tmp.path / "e.safetensors";
    write_bytes(p, bytes);
    EXPECT_EQ(safetensors_problem(p, {"segment/1/image", "segment/1/text"}), "");
    EXPECT_NE(safetensors_problem(p, {"segment/2/image"}).find("segment/2/image"), std::string::npos);
    for (size_t n : {size_t(0), size_t(7), size_t(20), bytes.size() - 4}) {
        write_bytes(p, bytes.substr(0, n));
        EXPECT_NE(safetensors_problem(p, {"segment/1/image"}), "") << "cut at " << n;
    }
}

TEST(OutputCheck, JsonRequiredFieldsAreTheSchemas) {
    const nlohmann::json doc = good_doc();
    ASSERT_EQ(output_json_problem(doc), "");
    const auto s = schema();
    for (const auto& key : s["required"]) {
        nlohmann::json d = doc;
        d.erase(key.get<std::string>());
        EXPECT_NE(output_json_problem(d), "") << "without " << key;
    }
    for (const auto& key : s["properties"]["input"]["required"]) {
        nlohmann::json d = doc;
        d["input"].erase(key.get<std::string>());
        EXPECT_NE(output_json_problem(d), "") << "without input." << key;
    }
    for (const char* def : {"segment", "node"})
        for (const auto& key : s["$defs"][def]["required"]) {
            nlohmann::json d = doc;
            d["segments"][0].erase(key.get<std::string>());
            EXPECT_NE(output_json_problem(d), "") << "a segment without " << key;
        }
    nlohmann::json d = doc;
    d["schema_version"] = 2;
    EXPECT_NE(output_json_problem(d), "");
}

TEST(OutputCheck, HeadReadsInputModelsParametersWithoutTheSegments) {
    TempDir tmp;
    const nlohmann::json doc = good_doc();
    const fs::path p = tmp.path / "a.json";
    // Cut inside "segments": only the head must be read.
    std::string text = doc.dump(1);
    const size_t segments = text.find("\"segments\"");
    ASSERT_NE(segments, std::string::npos);
    ASSERT_GT(segments, text.find("\"schema_version\""));  // keys are written in sorted order
    write_bytes(p, text.substr(0, segments + 20));
    const auto head = read_output_head(p);
    EXPECT_EQ(head["input"], doc["input"]);
    EXPECT_EQ(head["models"], doc["models"]);
    EXPECT_EQ(head["parameters"], doc["parameters"]);
    // A file cut before the parameters is not valid.
    write_bytes(p, text.substr(0, text.find("\"parameters\"")));
    EXPECT_THROW(read_output_head(p), std::exception);
}

TEST(OutputCheck, AStoppedGroupLeavesNoFileBehindInAChildProcess) {
    // abandon_unfinished_outputs never releases its lock, so it runs in a child.
    TempDir tmp;
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        write_file_atomic(tmp.path / "done.json", "{}", false);  // a finished file outside any group
        OutputGroup group(tmp.path / "img.json");
        write_file_atomic(tmp.path / "img.png", "png", false);
        AtomicFile pending(tmp.path / "img.overlay.jpg", false);
        pending.write("half");
        abandon_unfinished_outputs();
        write_file_atomic(tmp.path / "summary.json", "{}", true);  // the stopping thread may still write
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(tmp.path)) left.push_back(e.path().filename().string());
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left, (std::vector<std::string>{"done.json", "summary.json"}));
}
