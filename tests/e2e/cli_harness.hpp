// Helpers for end-to-end tests: run the real zgseg binary, make a model folder
// from the tiny fixtures, and check a JSON document against the output schema.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

namespace e2e {

namespace fs = std::filesystem;

inline const fs::path kData = ZGSEG_TEST_DATA;

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("zgseg_e2e_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
};

struct RunResult {
    int exit_code = -1;
    std::string out, err;
};

inline std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Runs `zgseg ARGS` (args already shell-quoted where needed) with stdin from `input`.
inline RunResult run_zgseg(const std::string& args, const std::string& input = "") {
    TempDir io;
    std::ofstream(io.path / "in") << input;
    const std::string cmd = quote(ZGSEG_BINARY) + " " + args + " <" + quote((io.path / "in").string()) + " >" +
                            quote((io.path / "out").string()) + " 2>" + quote((io.path / "err").string());
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(io.path / "out");
    r.err = slurp(io.path / "err");
    return r;
}

// A model directory laid out like the real one, pointing at the tiny fixtures.
inline fs::path make_tiny_models(const fs::path& root) {
    const fs::path dino = root / "dino-vits8", clip = root / "clip-vit-large-patch14-336";
    fs::create_directories(dino);
    fs::create_directories(clip);
    for (const char* f : {"config.json", "model.safetensors"}) {
        fs::create_symlink(kData / "nets/dino-vits8-tiny" / f, dino / f);
        fs::create_symlink(kData / "nets/clip-vit-l14-336-tiny" / f, clip / f);
    }
    for (const char* f : {"vocab.json", "merges.txt"}) fs::create_symlink(kData / "models-tiny/clip-tokenizer" / f, clip / f);
    return root;
}

// A small JSON-Schema checker for the keywords our schema uses: type,
// required, properties, items, $ref (local), allOf, enum, const, minimum,
// minItems, maxItems. Returns "" when valid, else the first problem.
inline std::string check_schema(const nlohmann::json& value, const nlohmann::json& schema, const nlohmann::json& root,
                                const std::string& where = "$") {
    if (schema.contains("$ref")) {
        std::string ref = schema["$ref"];  // "#/$defs/name"
        return check_schema(value, root["$defs"][ref.substr(ref.rfind('/') + 1)], root, where);
    }
    if (schema.contains("allOf"))
        for (const auto& s : schema["allOf"])
            if (auto e = check_schema(value, s, root, where); !e.empty()) return e;
    if (schema.contains("type")) {
        const std::string t = schema["type"];
        const bool ok = (t == "object" && value.is_object()) || (t == "array" && value.is_array()) ||
                        (t == "string" && value.is_string()) || (t == "boolean" && value.is_boolean()) ||
                        (t == "integer" && value.is_number_integer()) || (t == "number" && value.is_number());
        if (!ok) return where + ": expected " + t;
    }
    if (schema.contains("const") && value != schema["const"]) return where + ": expected " + schema["const"].dump();
    if (schema.contains("enum") && std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end())
        return where + ": " + value.dump() + " not in enum";
    if (schema.contains("minimum") && value.is_number() && value.get<double>() < schema["minimum"].get<double>())
        return where + ": below minimum";
    if (value.is_object()) {
        if (schema.contains("required"))
            for (const auto& key : schema["required"])
                if (!value.contains(key.get<std::string>())) return where + ": missing '" + key.get<std::string>() + "'";
        if (schema.contains("properties"))
            for (const auto& [key, sub] : schema["properties"].items())
                if (value.contains(key))
                    if (auto e = check_schema(value[key], sub, root, where + "." + key); !e.empty()) return e;
    }
    if (value.is_array()) {
        if (schema.contains("minItems") && value.size() < schema["minItems"].get<size_t>()) return where + ": too few items";
        if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>()) return where + ": too many items";
        if (schema.contains("items"))
            for (size_t i = 0; i < value.size(); ++i)
                if (auto e = check_schema(value[i], schema["items"], root, where + "[" + std::to_string(i) + "]"); !e.empty())
                    return e;
    }
    return "";
}

}  // namespace e2e
