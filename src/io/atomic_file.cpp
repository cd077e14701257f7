#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
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

// Every temporary file alive and every unfinished group, for a clean stop.
struct Registry {
    std::mutex mutex;
    bool closed = false;  // after abandon_unfinished_outputs(): no more commits but the stop's own
    std::atomic<std::thread::id> closer{};  // the thread that stopped (and holds `mutex` for good)
    std::set<std::string> temp_files;
    std::set<OutputGroup*> groups;
};
Registry& registry() {
    static Registry* r = new Registry;  // never destroyed: a stop may hold its lock while the process exits
    return *r;
}
thread_local OutputGroup* current_group = nullptr;

// The registry's lock; the stopping thread already holds it (and may still
// write its summary file).
class RegistryLock {
public:
    RegistryLock() {
        if (registry().closer.load() != std::this_thread::get_id()) lock_ = std::unique_lock<std::mutex>(registry().mutex);
    }
    void unlock() {
        if (lock_.owns_lock()) lock_.unlock();
    }
    // Commits are over, except on the stopping thread.
    bool refused() const { return registry().closed && lock_.owns_lock(); }

private:
    std::unique_lock<std::mutex> lock_;
};

[[noreturn]] void throw_stopped(const fs::path& destination) {
    throw Error("not writing " + destination.string() + ": zgseg is stopping (signal)");
}

}  // namespace

OutputGroup::OutputGroup(fs::path last) : last_(std::move(last)), outer_(current_group) {
    RegistryLock lock;
    registry().groups.insert(this);
    current_group = this;
}

OutputGroup::~OutputGroup() {
    RegistryLock lock;
    registry().groups.erase(this);
    current_group = outer_;
}

void abandon_unfinished_outputs() {
    Registry& r = registry();
    r.mutex.lock();  // never unlocked: the process exits next
    r.closed = true;
    r.closer = std::this_thread::get_id();
    for (const auto& temp : r.temp_files) ::unlink(temp.c_str());
    for (const OutputGroup* group : r.groups)
        if (!group->finished_)
            for (const auto& file : group->committed_) ::unlink(file.c_str());
}

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
    {
        RegistryLock lock;
        if (lock.refused()) {
            ::close(fd);
            ::unlink(temp_path_.c_str());
            throw_stopped(destination_);
        }
        registry().temp_files.insert(temp_path_.native());
    }
    stream_ = ::fdopen(fd, "wb");
    if (stream_ == nullptr) {
        const int err = errno;
        ::close(fd);
        forget_temp();
        throw Error("cannot write " + destination_.string() + ": " + errno_text(err));
    }
}

AtomicFile::~AtomicFile() {
    if (stream_ != nullptr) std::fclose(stream_);
    if (!committed_) forget_temp();
}

void AtomicFile::forget_temp() {
    RegistryLock lock;
    registry().temp_files.erase(temp_path_.native());
    ::unlink(temp_path_.c_str());
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

    // The rename and its bookkeeping happen under the registry's lock: a clean
    // stop sees either the temporary file or the committed one, never neither.
    RegistryLock lock;
    if (lock.refused()) throw_stopped(destination_);
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
    registry().temp_files.erase(temp_path_.native());
    if (current_group != nullptr) {
        current_group->committed_.push_back(destination_);
        if (destination_ == current_group->last_) current_group->finished_ = true;
    }
    lock.unlock();
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
