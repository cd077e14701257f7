#include "text/token_files.hpp"

#include <zlib.h>

#include <fstream>
#include <sstream>

#include "core/json_bounded.hpp"
#include "text/utf8.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {
namespace {

void require_utf8(std::string_view text, const std::string& source) {
    const std::size_t bad = utf8::find_invalid(text);
    if (bad != utf8::kValid)
        throw Error("tokenizer file " + source + " is not valid UTF-8 (byte " + std::to_string(bad) +
                    "); replace it with the original file");
}

}  // namespace

std::string read_text_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot open tokenizer file " + path.string() +
                    ": missing or unreadable (check the model folder or use the bundled models/)");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error("cannot read tokenizer file " + path.string());
    return ss.str();
}

std::string read_gzip_file(const fs::path& path) {
    if (!fs::is_regular_file(path))
        throw Error("cannot open tokenizer file " + path.string() + ": missing or not a file");
    gzFile f = gzopen(path.string().c_str(), "rb");
    if (f == nullptr) throw Error("cannot open tokenizer file " + path.string());
    std::string out;
    char buf[1 << 16];
    int n = 0;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    int err = Z_OK;
    const char* msg = gzerror(f, &err);
    const std::string what = (n < 0 || err != Z_OK) ? std::string(msg ? msg : "read error") : std::string();
    gzclose(f);
    if (!what.empty()) throw Error("tokenizer file " + path.string() + " is not a valid gzip file: " + what);
    return out;
}

nlohmann::json read_json_file(const fs::path& path) {
    const std::string text = read_text_file(path);
    try {
        return parse_bounded_json(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error("tokenizer file " + path.string() + " is not valid JSON: " + e.what());
    }
}

TokenIdMap read_vocab_json(const fs::path& path) {
    const nlohmann::json j = read_json_file(path);
    if (!j.is_object() || j.empty())
        throw Error("tokenizer file " + path.string() + ": expected a JSON object mapping tokens to ids");
    TokenIdMap vocab;
    vocab.reserve(j.size());
    for (const auto& [token, id] : j.items()) {
        if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > INT32_MAX)
            throw Error("tokenizer file " + path.string() + ": the id of token \"" + token +
                        "\" is not a non-negative integer");
        vocab.emplace(token, id.get<std::int32_t>());
    }
    return vocab;
}

MergeList parse_merges(std::string_view text, const std::string& source) {
    require_utf8(text, source);
    MergeList merges;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
        const std::size_t space = line.find(' ');
        if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
            line.find(' ', space + 1) != std::string_view::npos)
            throw Error("tokenizer file " + source + " line " + std::to_string(line_no) +
                        ": expected two tokens separated by one space");
        merges.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
    }
    if (merges.empty()) throw Error("tokenizer file " + source + " holds no merges");
    return merges;
}

std::vector<std::string> read_vocab_txt(const fs::path& path) {
    const std::string text = read_text_file(path);
    require_utf8(text, path.string());
    std::vector<std::string> tokens;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        tokens.emplace_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    if (tokens.empty()) throw Error("tokenizer file " + path.string() + " is empty");
    return tokens;
}

}  // namespace zgseg
