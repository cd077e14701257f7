// Bad inputs: each gets a one-line error naming the input, a non-zero exit,
// and nothing half-written; a batch reports the bad item and goes on.
#include <sys/stat.h>

#include <opencv2/imgcodecs.hpp>

#include "cli_harness.hpp"

using namespace e2e;

namespace {

const fs::path kPhoto = kData / "voc-sample/JPEGImages/2011_000003.jpg";

struct Fixture {
    TempDir dir;
    fs::path models, out;
    Fixture() {
        models = make_tiny_models(dir.path / "models");
        out = dir.path / "out";
    }
    std::string flags() const {
        return " -o " + quote(out.string()) + " --models " + quote(models.string()) + " --vocab " +
               quote((kData / "models-tiny/vocab.txt").string()) + " --cache-dir " + quote((dir.path / "cache").string()) +
               " --device cpu";
    }
    RunResult segment(const fs::path& input, const std::string& extra = "") const {
        return run_zgseg("segment " + quote(input.string()) + flags() + extra);
    }
};

void expect_error(const RunResult& r, const std::string& needle, const std::string& input) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(input), std::string::npos) << "names the input: " << r.err;
}

}  // namespace

TEST(BadInputs, MissingFile) {
    Fixture f;
    const auto p = f.dir.path / "nope.jpg";
    expect_error(f.segment(p), "", p.string());
}

TEST(BadInputs, DirectoryInsteadOfFile) {
    Fixture f;
    expect_error(f.segment(f.dir.path), "", f.dir.path.string());
}

TEST(BadInputs, ZeroByteFile) {
    Fixture f;
    const auto p = f.dir.path / "empty.jpg";
    std::ofstream(p).close();
    expect_error(f.segment(p), "", p.string());
}

TEST(BadInputs, TextFileNamedJpg) {
    Fixture f;
    const auto p = f.dir.path / "notes.jpg";
    std::ofstream(p) << "this is not an image\n";
    expect_error(f.segment(p), "", p.string());
}

TEST(BadInputs, TruncatedJpeg) {
    Fixture f;
    const auto p = f.dir.path / "cut.jpg";
    const auto bytes = slurp(kPhoto);
    std::ofstream(p, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    expect_error(f.segment(p), "", p.string());
}

TEST(BadInputs, UnsupportedFormat) {
    Fixture f;
    const auto p = f.dir.path / "anim.gif";
    std::ofstream(p, std::ios::binary) << std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 13);
    const auto r = f.segment(p);
    expect_error(r, "", p.string());
    EXPECT_NE(r.err.find("GIF"), std::string::npos) << "names the format: " << r.err;
}

TEST(BadInputs, ImageTooSmall) {
    Fixture f;
    const auto p = f.dir.path / "tiny.png";
    cv::imwrite(p.string(), cv::Mat(8, 8, CV_8UC3, cv::Scalar(10, 20, 30)));
    expect_error(f.segment(p), "", p.string());
}

TEST(BadInputs, OutNotWritable) {
    if (::geteuid() == 0) GTEST_SKIP() << "root can write into any folder; needs a non-root run";
    Fixture f;
    fs::create_directories(f.out);
    fs::permissions(f.out, fs::perms::owner_read | fs::perms::owner_exec);
    const auto r = f.segment(kPhoto);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("not writable"), std::string::npos) << r.err;
}

TEST(BadInputs, UnreadablePermissions) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads any file; the image loader's own test drops capabilities for this";
    Fixture f;
    const auto p = f.dir.path / "secret.jpg";
    fs::copy_file(kPhoto, p);
    fs::permissions(p, fs::perms::none);
    expect_error(f.segment(p), "", p.string());
}

TEST(BadInputs, OutIsAFile) {
    Fixture f;
    std::ofstream(f.out) << "x";
    const auto r = f.segment(kPhoto);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("is a file"), std::string::npos) << r.err;
}

TEST(BadInputs, ExistingOutputIsLeftUntouched) {
    Fixture f;
    fs::create_directories(f.out);
    std::ofstream(f.out / "2011_000003.json") << "mine";
    const auto r = f.segment(kPhoto);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--overwrite"), std::string::npos) << r.err;
    EXPECT_EQ(slurp(f.out / "2011_000003.json"), "mine");
    EXPECT_FALSE(fs::exists(f.out / "2011_000003.png")) << "nothing written beside it";
}

TEST(BadInputs, BatchReportsTheBadItemAndGoesOn) {
    Fixture f;
    const auto in = f.dir.path / "in";
    fs::create_directories(in);
    fs::copy_file(kPhoto, in / "good.jpg");
    std::ofstream(in / "bad.jpg") << "not an image";
    const auto r = run_zgseg("batch " + quote(in.string()) + f.flags());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("bad.jpg"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::exists(f.out / "good.json"));
    const auto summary = nlohmann::json::parse(slurp(f.out / "summary.json"));
    EXPECT_EQ(summary["done"], 1);
    EXPECT_EQ(summary["failed"], 1);
}
