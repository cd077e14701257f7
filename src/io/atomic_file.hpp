// Crash-safe output files: everything is written to a temporary file in the
// destination folder, flushed to disk, then renamed into place. A killed run
// leaves either the old file, no file, or a `NAME.tmp-<pid>-<random>` that
// the next run ignores, never a half-written NAME.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string_view>

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
    std::filesystem::path destination_;
    std::filesystem::path temp_path_;
    bool overwrite_;
    std::FILE* stream_ = nullptr;
    bool committed_ = false;
};

// Writes `bytes` to `destination` atomically.
void write_file_atomic(const std::filesystem::path& destination, std::string_view bytes, bool overwrite);

// Runs `fill(stream)` on the temporary file, then commits; on any exception the
// temporary file is removed and the exception propagates.
void write_file_atomic(const std::filesystem::path& destination, bool overwrite,
                       const std::function<void(std::FILE*)>& fill);

}  // namespace zgseg
