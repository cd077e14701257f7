#include "io/output_check.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/json_bounded.hpp"
#include "core/safetensors.hpp"
#include "core/sha256.hpp"
#include "io/outputs.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {

namespace {

using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

File open_file(const fs::path& path) { return File(std::fopen(path.c_str(), "rb"), &std::fclose); }

uint32_t big_endian_u32(const unsigned char* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// The required fields of schema/zgseg-output.schema.json (a unit test holds
// these lists against the schema file).
constexpr std::array<const char*, 11> kRequiredTop = {"schema_version", "zgseg_version", "input", "models",
                                                      "parameters", "device", "captioner", "timings_seconds",
                                                      "work_size", "files", "segments"};
constexpr std::array<const char*, 5> kRequiredInput = {"path", "width", "height", "sha256", "format"};
constexpr std::array<const char*, 15> kRequiredSegment = {
    "id",    "area",          "bbox",        "mask",   "heap_id", "parent_heap_id", "children_heap_ids", "leaves",
    "merged", "final",        "label",       "raw_caption", "clip_score", "candidates", "embedding_keys"};

// Every tensor NAME.json names: each segment's (and tree node's) embedding keys.
std::vector<std::string> named_tensors(const nlohmann::json& doc) {
    std::vector<std::string> names;
    for (const char* list : {"segments", "tree"}) {
        if (!doc.contains(list)) continue;
        for (const auto& node : doc.at(list))
            for (const char* kind : {"image", "text"}) names.push_back(node.at("embedding_keys").at(kind).get<std::string>());
    }
    return names;
}

// True when the network config hashes in `recorded` equal those in `expected`.
bool same_models(const nlohmann::json& recorded, const nlohmann::json& expected) {
    for (const auto& [net, value] : expected.items()) {
        if (net == "folder") continue;  // the same models may be mounted elsewhere
        if (!recorded.contains(net) || recorded.at(net) != value) return false;
    }
    return true;
}

// Thrown by the parse callback once the wanted keys are read.
struct HeadRead {};

}  // namespace

nlohmann::json read_output_head(const fs::path& json_path) {
    std::ifstream in(json_path, std::ios::binary);
    if (!in) throw Error("cannot read '" + json_path.string() + "'");
    static const std::array<const char*, 3> kWanted = {"input", "models", "parameters"};
    nlohmann::json head = nlohmann::json::object();
    std::string key;  // the top-level key whose value is being read
    const nlohmann::json::parser_callback_t keep = [&](int depth, nlohmann::json::parse_event_t event,
                                                       nlohmann::json& parsed) {
        if (depth >= kMaxJsonDepth) throw Error("'" + json_path.string() + "' is nested too deeply");
        if (event == nlohmann::json::parse_event_t::key && depth == 1) {
            key = parsed.get<std::string>();
            if (key > kWanted.back() && head.size() == kWanted.size()) throw HeadRead{};
        } else if (depth == 1 && (event == nlohmann::json::parse_event_t::object_end ||
                                  event == nlohmann::json::parse_event_t::value)) {
            for (const char* wanted : kWanted)
                if (key == wanted) head[wanted] = parsed;
        }
        return true;
    };
    try {
        (void)nlohmann::json::parse(in, keep);
    } catch (const HeadRead&) {
        return head;
    } catch (const nlohmann::json::exception&) {
        throw Error("'" + json_path.string() + "' is not valid JSON (truncated?)");
    }
    return head;
}

InputStamp input_stamp(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {static_cast<int64_t>(st.st_size),
            static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + static_cast<int64_t>(st.st_mtim.tv_nsec)};
}

std::string png_problem(const fs::path& path, int64_t expected_width, int64_t expected_height) {
    File f = open_file(path);
    if (!f) return "cannot be read";
    static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    if (std::fread(head, 1, 8, f.get()) != 8 || std::memcmp(head, kSignature, 8) != 0) return "no PNG signature";
    std::vector<unsigned char> data;
    bool first = true;
    for (;;) {
        unsigned char chunk_head[8];
        const size_t got = std::fread(chunk_head, 1, 8, f.get());
        if (got == 0) return "truncated: no IEND chunk";
        if (got != 8) return "truncated inside a chunk header";
        const uint32_t length = big_endian_u32(chunk_head);
        if (length > (1u << 31)) return "a chunk length is out of range";
        data.resize(length + 4);
        if (std::fread(data.data(), 1, data.size(), f.get()) != data.size()) return "truncated inside a chunk";
        // The CRC covers the type and the data.
        uLong crc = crc32(0L, chunk_head + 4, 4);
        if (length > 0) crc = crc32(crc, data.data(), length);
        if (static_cast<uint32_t>(crc) != big_endian_u32(data.data() + length))
            return "chunk '" + std::string(reinterpret_cast<char*>(chunk_head + 4), 4) + "' fails its CRC";
        const std::string type(reinterpret_cast<char*>(chunk_head + 4), 4);
        if (first) {
            if (type != "IHDR" || length != 13) return "the first chunk is not IHDR";
            const int64_t width = big_endian_u32(data.data()), height = big_endian_u32(data.data() + 4);
            if (width != expected_width || height != expected_height)
                return "its size " + std::to_string(width) + "x" + std::to_string(height) + " is not the " +
                       std::to_string(expected_width) + "x" + std::to_string(expected_height) + " NAME.json states";
            first = false;
        }
        if (type == "IEND") {
            unsigned char extra;
            if (std::fread(&extra, 1, 1, f.get()) != 0) return "data after IEND";
            return "";
        }
    }
}

std::string jpeg_problem(const fs::path& path) {
    File f = open_file(path);
    if (!f) return "cannot be read";
    unsigned char soi[2], eoi[2];
    if (std::fread(soi, 1, 2, f.get()) != 2 || soi[0] != 0xFF || soi[1] != 0xD8) return "does not start with a JPEG SOI";
    if (std::fseek(f.get(), -2, SEEK_END) != 0 || std::fread(eoi, 1, 2, f.get()) != 2 || eoi[0] != 0xFF ||
        eoi[1] != 0xD9)
        return "truncated: does not end with a JPEG EOI";
    return "";
}

std::string safetensors_problem(const fs::path& path, const std::vector<std::string>& names) {
    try {
        const auto file = SafetensorsFile::open(path);  // maps it and validates header, offsets and file size
        for (const auto& name : names)
            if (file.find(name) == nullptr) return "has no tensor '" + name + "' that NAME.json names";
        return "";
    } catch (const std::exception& e) {
        return e.what();
    }
}

std::string output_json_problem(const nlohmann::json& doc) {
    if (!doc.is_object()) return "is not a JSON object";
    for (const char* key : kRequiredTop)
        if (!doc.contains(key)) return std::string("has no \"") + key + "\"";
    if (doc.at("schema_version") != kOutputSchemaVersion)
        return "has schema_version " + doc.at("schema_version").dump() + ", not " + std::to_string(kOutputSchemaVersion);
    const auto& input = doc.at("input");
    if (!input.is_object()) return "\"input\" is not an object";
    for (const char* key : kRequiredInput)
        if (!input.contains(key)) return std::string("has no \"input\".\"") + key + "\"";
    if (!input.at("width").is_number_integer() || !input.at("height").is_number_integer())
        return "\"input\" width/height are not integers";
    if (!doc.at("segments").is_array()) return "\"segments\" is not an array";
    for (const auto& segment : doc.at("segments")) {
        if (!segment.is_object()) return "a segment is not an object";
        for (const char* key : kRequiredSegment)
            if (!segment.contains(key)) return std::string("a segment has no \"") + key + "\"";
        const auto& keys = segment.at("embedding_keys");
        if (!keys.is_object() || !keys.contains("image") || !keys.contains("text") || !keys.at("image").is_string() ||
            !keys.at("text").is_string())
            return "a segment's \"embedding_keys\" lacks image/text names";
    }
    if (doc.contains("tree")) {
        if (!doc.at("tree").is_array()) return "\"tree\" is not an array";
        for (const auto& node : doc.at("tree"))
            if (!node.is_object() || !node.contains("embedding_keys") || !node.at("embedding_keys").is_object() ||
                !node.at("embedding_keys").contains("image") || !node.at("embedding_keys").contains("text"))
                return "a tree node lacks \"embedding_keys\"";
    }
    return "";
}

OutputCheck check_outputs(const fs::path& base, const fs::path& input, const ExpectedRun& expected) {
    const auto paths = output_paths(base);
    OutputCheck check;
    auto failed = [&](OutputCheck::Verdict verdict, const fs::path& file, std::string problem) {
        check.verdict = verdict;
        check.file = file;
        check.problem = std::move(problem);
        return check;
    };
    std::error_code ec;
    if (!fs::exists(paths.json, ec)) return failed(OutputCheck::Verdict::Missing, paths.json, "missing");

    // NAME.json: whole, the schema's fields, this input, this run's settings.
    nlohmann::json doc;
    try {
        std::ifstream in(paths.json, std::ios::binary);
        if (!in) return failed(OutputCheck::Verdict::Invalid, paths.json, "cannot be read");
        doc = parse_bounded_json(in);
    } catch (const std::exception&) {
        return failed(OutputCheck::Verdict::Invalid, paths.json, "is not valid JSON (truncated?)");
    }
    if (auto problem = output_json_problem(doc); !problem.empty())
        return failed(OutputCheck::Verdict::Invalid, paths.json, problem);
    const auto& recorded = doc.at("input");
    const InputStamp now = input_stamp(input);
    const bool same_stamp = recorded.contains("size_bytes") && recorded.contains("mtime_ns") &&
                            recorded.at("size_bytes") == now.size_bytes && recorded.at("mtime_ns") == now.mtime_ns;
    if (!same_stamp) {
        // Size or time differ (or were not recorded): the content decides.
        std::string sha;
        try {
            sha = sha256_file(input);
        } catch (const std::exception&) {
        }
        if (sha != recorded.at("sha256"))
            return failed(OutputCheck::Verdict::Invalid, paths.json,
                          "was made from another version of the input '" + input.string() + "' (its SHA-256 differs)");
    }

    // The other three files: whole, and what NAME.json says they are.
    for (const auto& p : {paths.png, paths.embeddings, paths.overlay})
        if (!fs::is_regular_file(p, ec)) return failed(OutputCheck::Verdict::Invalid, p, "is missing");
    if (auto problem = png_problem(paths.png, recorded.at("width").get<int64_t>(), recorded.at("height").get<int64_t>());
        !problem.empty())
        return failed(OutputCheck::Verdict::Invalid, paths.png, problem);
    std::vector<std::string> names;
    try {
        names = named_tensors(doc);
    } catch (const std::exception&) {
        return failed(OutputCheck::Verdict::Invalid, paths.json, "has an embedding key that is not a string");
    }
    if (auto problem = safetensors_problem(paths.embeddings, names); !problem.empty())
        return failed(OutputCheck::Verdict::Invalid, paths.embeddings, problem);
    if (auto problem = jpeg_problem(paths.overlay); !problem.empty())
        return failed(OutputCheck::Verdict::Invalid, paths.overlay, problem);

    // Whole; made the way this run would make it?
    if (doc.at("parameters") != expected.parameters)
        return failed(OutputCheck::Verdict::OtherSettings, paths.json, "was made with other parameters");
    if (!same_models(doc.at("models"), expected.models))
        return failed(OutputCheck::Verdict::OtherSettings, paths.json, "was made with other models");
    check.verdict = OutputCheck::Verdict::Complete;
    return check;
}

}  // namespace zgseg
