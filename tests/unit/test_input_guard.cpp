// The input guard: once a file is registered as an input, no AtomicFile may
// replace it — by its own path, a symlink, a hard link or another spelling of
// the path — even with overwrite; unrelated files are written as usual.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "io/atomic_file.hpp"
#include "io/input_guard.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace {

struct GuardTest : ::testing::Test {
    fs::path dir;
    fs::path input;
    void SetUp() override {
        dir = fs::temp_directory_path() / ("zgseg_guard_" + std::to_string(::getpid()) + "_" +
                                           std::to_string(std::random_device{}()));
        fs::create_directories(dir / "sub");
        input = dir / "photo.png";
        std::ofstream(input) << "the user's photo";
        zgseg::clear_protected_inputs();
        zgseg::protect_input(input);
    }
    void TearDown() override {
        zgseg::clear_protected_inputs();
        fs::remove_all(dir);
    }
    std::string content() const {
        std::ifstream in(input);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    void expect_refused(const fs::path& output) const {
        try {
            zgseg::write_file_atomic(output, "label map", /*overwrite=*/true);
            ADD_FAILURE() << "wrote over the input through " << output;
        } catch (const zgseg::Error& e) {
            EXPECT_NE(std::string(e.what()).find("over the input '" + input.string() + "'"), std::string::npos) << e.what();
        }
        EXPECT_EQ(content(), "the user's photo") << output;
    }
};

}  // namespace

TEST_F(GuardTest, SamePath) { expect_refused(input); }

TEST_F(GuardTest, OtherSpellingOfThePath) { expect_refused(dir / "sub" / ".." / "photo.png"); }

TEST_F(GuardTest, Symlink) {
    fs::create_symlink(input, dir / "link.png");
    expect_refused(dir / "link.png");
    EXPECT_TRUE(fs::is_symlink(dir / "link.png"));
}

TEST_F(GuardTest, HardLink) {
    fs::create_hard_link(input, dir / "sub" / "hard.png");
    expect_refused(dir / "sub" / "hard.png");
}

TEST_F(GuardTest, OtherFilesAreWrittenAsUsual) {
    std::ofstream(dir / "old.png") << "old output";
    zgseg::write_file_atomic(dir / "old.png", "new", /*overwrite=*/true);
    zgseg::write_file_atomic(dir / "new.png", "new", /*overwrite=*/false);
    EXPECT_TRUE(fs::exists(dir / "new.png"));
    EXPECT_FALSE(zgseg::protected_input_at(dir / "old.png"));
    EXPECT_EQ(zgseg::protected_input_at(input), input);
}

TEST_F(GuardTest, MissingInputProtectsNothingAndLaterFilesAreFree) {
    zgseg::protect_input(dir / "not-there.png");
    zgseg::write_file_atomic(dir / "not-there.png", "x", /*overwrite=*/false);
    EXPECT_TRUE(fs::exists(dir / "not-there.png"));
}
