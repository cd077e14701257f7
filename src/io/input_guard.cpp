#include "io/input_guard.hpp"

#include <sys/stat.h>

#include <map>
#include <mutex>
#include <utility>

#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {
namespace {

using FileId = std::pair<dev_t, ino_t>;

struct Registry {
    std::mutex mutex;
    std::map<FileId, fs::path> inputs;  // identity → the path it was read from
};

Registry& registry() {
    static Registry r;
    return r;
}

// stat() follows symlinks, so a link to an input has the input's identity;
// a hard link shares the inode by definition.
std::optional<FileId> identity(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return FileId{st.st_dev, st.st_ino};
}

}  // namespace

void protect_input(const fs::path& input) {
    const auto id = identity(input);
    if (!id) return;  // a missing input is reported by its reader; nothing to protect
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.inputs.emplace(*id, input);
}

std::optional<fs::path> protected_input_at(const fs::path& output) {
    const auto id = identity(output);
    if (!id) return std::nullopt;
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto it = r.inputs.find(*id);
    if (it == r.inputs.end()) return std::nullopt;
    return it->second;
}

void refuse_output_over_input(const fs::path& output) {
    const auto input = protected_input_at(output);
    if (!input) return;
    const std::string how = *input == output ? "it is that input" : "it is the same file (link or other path)";
    throw Error("refusing to write '" + output.string() + "' over the input '" + input->string() + "' (" + how +
                "); zgseg never replaces an input, even with --overwrite: choose another output (-o)");
}

void clear_protected_inputs() {
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.inputs.clear();
}

}  // namespace zgseg
