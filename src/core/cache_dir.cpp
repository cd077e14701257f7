#include "core/cache_dir.hpp"

#include <cstdlib>

namespace fs = std::filesystem;

namespace zgseg {

fs::path home_folder() {
    const char* home = std::getenv("HOME");
    return fs::path(home && *home ? home : "/tmp");
}

fs::path cache_root() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) return fs::path(xdg) / "zgseg";
    return home_folder() / ".cache" / "zgseg";
}

}  // namespace zgseg
