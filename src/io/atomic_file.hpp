// Crash-safe output files: everything is written to a temporary file in the
// destination folder, flushed to disk, then renamed into place. A killed run
// leaves either the old file, no file, or a `NAME.tmp-<pid>-<random>` that
// the next run ignores, never a half-written NAME.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string_view>
#include <vector>

namespace zgseg {

class AtomicFile {
public:
    // Creates the temporary file next to `destination`. Throws zgseg::Error if
    // the destination exists and `overwrite` is false (the message suggests
    // --overwrite), if it is a directory, or if its folder is missing or not
    // writable.
    AtomicFile(std::filesystem::path destination, bool overwrite);
    ~AtomicFile();  // removes the temporary file unless commit() succeeded
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    // Open stream on the temporary file (binary, write-only). Valid until commit().
    std::FILE* stream() const { return stream_; }
    const std::filesystem::path& temp_path() const { return temp_path_; }
    const std::filesystem::path& destination() const { return destination_; }

    void write(std::string_view bytes);

    // Flushes, fsyncs, closes and renames into place, then fsyncs the folder.
    // Without overwrite the rename refuses to replace a file that appeared meanwhile.
    void commit();

private:
    void forget_temp();  // unlinks the temporary file and drops it from the stop's list

    std::filesystem::path destination_;
    std::filesystem::path temp_path_;
    bool overwrite_;
    std::FILE* stream_ = nullptr;
    bool committed_ = false;
};

// The files of one result that belong together (an image's four outputs):
// while a group is alive on a thread, the files that thread commits are
// recorded in it, and committing its `last` file (NAME.json) finishes it in
// the same step. A clean stop (abandon_unfinished_outputs) removes the files
// of every unfinished group, so a stopped image leaves no part behind.
class OutputGroup {
public:
    explicit OutputGroup(std::filesystem::path last);
    ~OutputGroup();
    OutputGroup(const OutputGroup&) = delete;
    OutputGroup& operator=(const OutputGroup&) = delete;
    bool finished() const { return finished_; }

private:
    friend class AtomicFile;
    friend void abandon_unfinished_outputs();
    std::filesystem::path last_;
    std::vector<std::filesystem::path> committed_;
    bool finished_ = false;
    OutputGroup* outer_ = nullptr;
};

// For a clean stop, called once on the way out: removes every temporary file
// being written and every file of an unfinished OutputGroup, and makes every
// later commit fail. Holds the registry's lock until the process exits, so no
// thread can rename another file into place after it.
void abandon_unfinished_outputs();

// Writes `bytes` to `destination` atomically.
void write_file_atomic(const std::filesystem::path& destination, std::string_view bytes, bool overwrite);

// Runs `fill(stream)` on the temporary file, then commits; on any exception the
// temporary file is removed and the exception propagates.
void write_file_atomic(const std::filesystem::path& destination, bool overwrite,
                       const std::function<void(std::FILE*)>& fill);

}  // namespace zgseg
