// Atomic output files: written under a temporary name in the same folder and
// renamed into place; no overwrite unless asked; nothing left behind on
// failure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "io/atomic_file.hpp"
#include "error_of.hpp"
#include "zgseg/error.hpp"

using zgseg::testing::error_of;

namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("zgseg_atomic_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t entries(const fs::path& folder) {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(folder), fs::directory_iterator()));
}

}  // namespace

TEST(AtomicFile, WritesThroughATemporaryNameInTheSameFolder) {
    TempDir tmp;
    const fs::path target = tmp.path / "labels.png";
    {
        zgseg::AtomicFile file(target, false);
        EXPECT_EQ(file.temp_path().parent_path(), tmp.path);
        const std::string name = file.temp_path().filename().string();
        EXPECT_EQ(name.rfind("labels.png.tmp-" + std::to_string(::getpid()) + "-", 0), 0u) << name;
        file.write("half");
        EXPECT_FALSE(fs::exists(target));  // a reader never sees a half-written file
        file.write(" and the rest");
        file.commit();
    }
    EXPECT_EQ(read_text(target), "half and the rest");
    EXPECT_EQ(entries(tmp.path), 1u);
}

TEST(AtomicFile, RefusesToOverwriteUnlessAsked) {
    TempDir tmp;
    const fs::path target = tmp.path / "out.json";
    zgseg::write_file_atomic(target, "first", false);
    const std::string message = error_of([&] { zgseg::write_file_atomic(target, "second", false); });
    EXPECT_NE(message.find(target.string() + " already exists; pass --overwrite to replace it"), std::string::npos) << message;
    EXPECT_EQ(read_text(target), "first");
    zgseg::write_file_atomic(target, "second", true);
    EXPECT_EQ(read_text(target), "second");
    EXPECT_EQ(entries(tmp.path), 1u);
}

// A file that appears between opening and committing is not clobbered.
TEST(AtomicFile, CommitDoesNotReplaceAFileCreatedMeanwhile) {
    TempDir tmp;
    const fs::path target = tmp.path / "race.txt";
    zgseg::AtomicFile file(target, false);
    file.write("ours");
    std::ofstream(target) << "theirs";
    EXPECT_THROW(file.commit(), zgseg::Error);
    EXPECT_EQ(read_text(target), "theirs");
}

TEST(AtomicFile, FailureRemovesTheTemporaryFile) {
    TempDir tmp;
    const fs::path target = tmp.path / "overlay.jpg";
    EXPECT_THROW(zgseg::write_file_atomic(target, false,
                                          [](std::FILE* f) {
                                              std::fputs("partial", f);
                                              throw std::runtime_error("encoder failed");
                                          }),
                 std::runtime_error);
    EXPECT_EQ(entries(tmp.path), 0u);
}

TEST(AtomicFile, ClearErrorsForBadDestinations) {
    TempDir tmp;
    const std::string missing = error_of([&] { zgseg::write_file_atomic(tmp.path / "no" / "x.png", "x", false); });
    EXPECT_NE(missing.find("does not exist; create it first"), std::string::npos) << missing;
    const std::string folder = error_of([&] { zgseg::write_file_atomic(tmp.path, "x", true); });
    EXPECT_NE(folder.find("is a directory"), std::string::npos) << folder;
}
