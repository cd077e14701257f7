#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>

#include "io/input_guard.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

std::string random_suffix() {
    std::random_device device;
    std::ostringstream out;
    out << std::hex << device() << device();
    return out.str();
}

[[noreturn]] void throw_exists(const fs::path& destination) {
    throw Error("output file " + destination.string() +
                " already exists; pass --overwrite to replace it, or choose another output folder");
}

void fsync_folder(const fs::path& folder) {
    const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;  // best effort: some file systems refuse to open folders
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(fs::path destination, bool overwrite)
    : destination_(std::move(destination)), overwrite_(overwrite) {
    std::error_code ec;
    const fs::file_status status = fs::status(destination_, ec);
    if (fs::is_directory(status))
        throw Error("output path " + destination_.string() + " is a directory; give a file name");
    refuse_output_over_input(destination_);  // before "exists": --overwrite must not help here
    if (fs::exists(status) && !overwrite_) throw_exists(destination_);

    const fs::path folder = destination_.parent_path();
    if (!folder.empty() && !fs::is_directory(folder, ec))
        throw Error("cannot write " + destination_.string() + ": folder " + folder.string() +
                    " does not exist; create it first");

    temp_path_ = destination_;
    temp_path_ += ".tmp-" + std::to_string(::getpid()) + "-" + random_suffix();
    // O_EXCL: never reuse (and later delete) a file this process did not create.
    const int fd = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        throw Error("cannot write " + destination_.string() + " (creating " + temp_path_.filename().string() +
                    " failed: " + errno_text(errno) + "); check that the folder is writable");
    stream_ = ::fdopen(fd, "wb");
    if (stream_ == nullptr) {
        const int err = errno;
        ::close(fd);
        ::unlink(temp_path_.c_str());
        throw Error("cannot write " + destination_.string() + ": " + errno_text(err));
    }
}

AtomicFile::~AtomicFile() {
    if (stream_ != nullptr) std::fclose(stream_);
    if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(std::string_view bytes) {
    if (stream_ == nullptr) throw Error("internal: write to " + destination_.string() + " after commit");
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), stream_) != bytes.size())
        throw Error("writing " + destination_.string() + " failed: " + errno_text(errno) +
                    " (is the disk full?)");
}

void AtomicFile::commit() {
    if (stream_ == nullptr) throw Error("internal: " + destination_.string() + " committed twice");
    const bool flushed = std::fflush(stream_) == 0 && ::fsync(::fileno(stream_)) == 0;
    const int flush_err = errno;
    const bool closed = std::fclose(stream_) == 0;
    stream_ = nullptr;
    if (!flushed || !closed)
        throw Error("writing " + destination_.string() + " failed: " + errno_text(flush_err) +
                    " (is the disk full?)");

    if (overwrite_) {
        refuse_output_over_input(destination_);  // again: an input may have appeared here since
        if (::rename(temp_path_.c_str(), destination_.c_str()) != 0)
            throw Error("cannot replace " + destination_.string() + ": " + errno_text(errno));
    } else {
        // link() fails with EEXIST instead of replacing: no window in which a
        // file created by someone else since the constructor could be lost.
        if (::link(temp_path_.c_str(), destination_.c_str()) == 0) {
            ::unlink(temp_path_.c_str());
        } else if (errno == EEXIST) {
            throw_exists(destination_);
        } else {
            // File systems without hard links: check, then rename.
            std::error_code ec;
            if (fs::exists(destination_, ec)) throw_exists(destination_);
            if (::rename(temp_path_.c_str(), destination_.c_str()) != 0)
                throw Error("cannot create " + destination_.string() + ": " + errno_text(errno));
        }
    }
    committed_ = true;
    fsync_folder(destination_.parent_path());
}

void write_file_atomic(const fs::path& destination, std::string_view bytes, bool overwrite) {
    AtomicFile file(destination, overwrite);
    file.write(bytes);
    file.commit();
}

void write_file_atomic(const fs::path& destination, bool overwrite, const std::function<void(std::FILE*)>& fill) {
    AtomicFile file(destination, overwrite);
    fill(file.stream());
    file.commit();
}

}  // namespace zgseg
