// config.json reading with errors that name the file and every bad field.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zgseg {

// A model's config.json. Accessors record problems instead of throwing at the
// first one, so a config with several unsupported values is refused with all of
// them listed: read every field, then call check().
class ModelConfig {
public:
    static ModelConfig load(const std::filesystem::path& path);
    static ModelConfig from_json(nlohmann::json json, std::string source);

    const nlohmann::json& json() const { return json_; }
    const std::string& source() const { return source_; }

    bool has(const std::string& key) const;
    // Required fields: a missing or mistyped field is recorded, 0/"" returned.
    int64_t get_int(const std::string& key);
    double get_double(const std::string& key);
    std::string get_string(const std::string& key);
    // Optional fields with a default.
    int64_t get_int(const std::string& key, int64_t fallback);
    double get_double(const std::string& key, double fallback);
    std::string get_string(const std::string& key, const std::string& fallback);
    bool get_bool(const std::string& key, bool fallback);
    // Records a problem unless the field (if present) has one of `allowed`.
    void expect_one_of(const std::string& key, const std::vector<std::string>& allowed, const std::string& fallback);
    // Records a problem of the caller's own.
    void problem(const std::string& what) { problems_.push_back(what); }
    // Throws zgseg::Error listing every recorded problem, if any.
    void check() const;

    // A sub-object (e.g. CLIP's "vision_config") as a config of its own; its
    // problems are reported under the parent's source name.
    ModelConfig sub(const std::string& key);

private:
    nlohmann::json json_;
    std::string source_;
    std::vector<std::string> problems_;
};

}  // namespace zgseg
