#include "text/vocabulary.hpp"

#include <fstream>
#include <unordered_set>

#include "zgseg/error.hpp"

namespace zgseg {

namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

std::vector<std::string> read_vocabulary(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw Error("cannot read vocabulary file '" + path.string() + "' (give one entry a line with --vocab FILE)");
    std::vector<std::string> entries;
    std::unordered_set<std::string> seen;
    std::string line;
    while (std::getline(in, line)) {
        const auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        line = trim(line);
        if (!line.empty() && seen.insert(line).second) entries.push_back(line);
    }
    if (entries.empty()) throw Error("vocabulary file '" + path.string() + "' has no entries");
    return entries;
}

}  // namespace zgseg
