// Never write over an input, through the real binary: no flag (--overwrite,
// --resume) makes segment, batch or eval replace a file they read — named
// directly, through a symlink or through a hard link. The refused image fails
// with one line that says why and suggests another -o; a batch goes on with
// the rest. Every check compares the input's SHA-256 before and after.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli_harness.hpp"
#include "core/sha256.hpp"

using namespace e2e;

namespace {

const fs::path kVoc = kData / "voc-sample";
const fs::path kJpeg = kVoc / "JPEGImages/2011_000003.jpg";

struct Fixture {
    TempDir dir;
    fs::path models, photos;
    Fixture() {
        models = make_tiny_models(dir.path / "models");
        photos = dir.path / "photos";
        fs::create_directories(photos);
    }
    // A small photo (quick to segment) in any format; a PNG's label map would have its name.
    static fs::path write_photo(const fs::path& p) {
        cv::Mat small;
        cv::resize(cv::imread(kJpeg.string()), small, cv::Size(200, 150), 0, 0, cv::INTER_AREA);
        EXPECT_TRUE(cv::imwrite(p.string(), small));
        return p;
    }
    fs::path png_photo(const std::string& name) const { return write_photo(photos / name); }
    std::string flags(const fs::path& out) const {
        return " -o " + quote(out.string()) + " --models " + quote(models.string()) + " --vocab " +
               quote((kData / "models-tiny/vocab.txt").string()) + " --cache-dir " +
               quote((dir.path / "cache").string()) + " --device cpu";
    }
};

void expect_refused(const RunResult& r, const fs::path& input) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("over the input"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(input.string()), std::string::npos) << "names the input: " << r.err;
    EXPECT_NE(r.err.find("choose another output (-o)"), std::string::npos) << r.err;
}

}  // namespace

TEST(InputSafety, SegmentIntoTheInputsFolderNeverReplacesThePhoto) {
    Fixture f;
    const fs::path photo = f.png_photo("photo.png");
    const std::string before = zgseg::sha256_file(photo);
    for (const char* extra : {"", " --overwrite"}) {
        const auto r = run_zgseg("segment " + quote(photo.string()) + f.flags(f.photos) + extra);
        expect_refused(r, photo);
        EXPECT_EQ(zgseg::sha256_file(photo), before) << "the photo is untouched" << extra;
        EXPECT_FALSE(fs::exists(f.photos / "photo.json")) << "nothing else written either" << extra;
        EXPECT_FALSE(fs::exists(f.photos / "photo.overlay.jpg")) << extra;
    }
}

TEST(InputSafety, SymlinkAndHardLinkToTheInputAreRefused) {
    Fixture f;
    const fs::path photo = f.png_photo("photo.png");
    const std::string before = zgseg::sha256_file(photo);
    const fs::path via_symlink = f.dir.path / "out-symlink", via_hardlink = f.dir.path / "out-hardlink";
    fs::create_directories(via_symlink);
    fs::create_directories(via_hardlink);
    fs::create_symlink(photo, via_symlink / "photo.png");
    fs::create_hard_link(photo, via_hardlink / "photo.png");
    for (const auto& out : {via_symlink, via_hardlink}) {
        const auto r = run_zgseg("segment " + quote(photo.string()) + f.flags(out) + " --overwrite");
        expect_refused(r, photo);
        EXPECT_EQ(zgseg::sha256_file(photo), before) << out;
        EXPECT_FALSE(fs::exists(out / "photo.json")) << out;
    }
    EXPECT_TRUE(fs::is_symlink(via_symlink / "photo.png")) << "the user's link is left as it was";
    // An output folder reached through a symlink to the inputs' folder.
    const fs::path linked_folder = f.dir.path / "photos-link";
    fs::create_directory_symlink(f.photos, linked_folder);
    expect_refused(run_zgseg("segment " + quote(photo.string()) + f.flags(linked_folder) + " --overwrite"), photo);
    EXPECT_EQ(zgseg::sha256_file(photo), before);
}

// batch SRC -o SRC --overwrite: the PNG photo is refused, the JPEG photo is
// processed, and a second run (--resume, then --overwrite) neither takes the
// label map and overlay it wrote for photos nor touches the PNG photo.
TEST(InputSafety, BatchIntoItsOwnSourceFolderGoesOnWithTheRest) {
    Fixture f;
    const fs::path png = f.png_photo("a.png");
    Fixture::write_photo(f.photos / "b.jpg");
    const std::string png_before = zgseg::sha256_file(png), jpg_before = zgseg::sha256_file(f.photos / "b.jpg");

    auto r = run_zgseg("batch " + quote(f.photos.string()) + f.flags(f.photos) + " --overwrite");
    EXPECT_EQ(r.exit_code, 1) << "one image failed: " << r.err;
    EXPECT_NE(r.err.find("over the input"), std::string::npos) << r.err;
    EXPECT_EQ(zgseg::sha256_file(png), png_before);
    for (const char* out : {"b.png", "b.json", "b.embeddings.safetensors", "b.overlay.jpg"})
        EXPECT_TRUE(fs::exists(f.photos / out)) << out << " written for the JPEG photo";
    auto summary = nlohmann::json::parse(slurp(f.photos / "summary.json"));
    EXPECT_EQ(summary["inputs"], 2) << "b.png / b.overlay.jpg did not exist yet";
    EXPECT_EQ(summary["done"], 1);
    ASSERT_EQ(summary["failures"].size(), 1u);
    EXPECT_EQ(summary["failures"][0]["input"], png.string());

    for (const char* again : {" --resume", " --overwrite"}) {
        r = run_zgseg("batch " + quote(f.photos.string()) + f.flags(f.photos) + again);
        EXPECT_EQ(r.exit_code, 1) << again << ": " << r.err;
        EXPECT_NE(r.err.find("skipped 2 files"), std::string::npos) << "its own label map and overlay: " << r.err;
        summary = nlohmann::json::parse(slurp(f.photos / "summary.json"));
        EXPECT_EQ(summary["inputs"], 2) << again;
        EXPECT_EQ(summary["failed"], 1) << again;
        EXPECT_EQ(zgseg::sha256_file(png), png_before) << again;
        EXPECT_EQ(zgseg::sha256_file(f.photos / "b.jpg"), jpg_before) << again;
    }
}

// batch photos -o photos/out: photos/a.jpg's label map would be photos/out/a.png,
// which is itself one of the batch's photos, read later (sorted order): the
// first image is refused rather than replace the second before it is read.
TEST(InputSafety, AnEarlierImageNeverReplacesALaterInput) {
    Fixture f;
    const fs::path out = f.photos / "out";
    fs::create_directories(out);
    Fixture::write_photo(f.photos / "a.jpg");
    Fixture::write_photo(out / "a.png");  // a user's photo in OUT
    const std::string before = zgseg::sha256_file(out / "a.png");
    const auto r = run_zgseg("batch " + quote(f.photos.string()) + f.flags(out) + " --overwrite");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("over the input"), std::string::npos) << r.err;
    EXPECT_EQ(zgseg::sha256_file(out / "a.png"), before);
    EXPECT_TRUE(fs::exists(out / "out/a.json")) << "the other photo was processed";
}

// eval -o: eval.json there is a link to a ground-truth file it reads.
TEST(InputSafety, EvalNeverReplacesGroundTruthOrPredictions) {
    Fixture f;
    const fs::path data = f.dir.path / "voc";
    fs::create_directories(data / "SegmentationClass");
    fs::copy_file(kVoc / "SegmentationClass/2011_000003.png", data / "SegmentationClass/2011_000003.png");
    const fs::path gt = data / "SegmentationClass/2011_000003.png";
    const std::string before = zgseg::sha256_file(gt);
    const fs::path pred = f.dir.path / "pred", out = f.dir.path / "eval-out";
    fs::create_directories(pred);
    fs::create_directories(out);
    cv::imwrite((pred / "2011_000003.png").string(), cv::Mat(cv::imread(gt.string()).size(), CV_8U, cv::Scalar(1)));
    std::ofstream(pred / "2011_000003.json") << R"({"segments": [{"id": 1, "label": "cat"}]})";
    fs::create_symlink(gt, out / "eval.json");
    const auto r = run_zgseg("eval --dataset voc20 --data " + quote(data.string()) + " --pred " + quote(pred.string()) +
                             " -o " + quote(out.string()) + " --models " + quote(f.models.string()) + " --sbert " +
                             quote((kData / "nets/minilm_tiny").string()) + " --cache-dir " +
                             quote((f.dir.path / "eval-cache").string()) + " --device cpu --reassign tt --overwrite");
    expect_refused(r, gt);
    EXPECT_EQ(zgseg::sha256_file(gt), before);
    EXPECT_FALSE(fs::exists(out / "eval.csv")) << "refused before any work";
}
