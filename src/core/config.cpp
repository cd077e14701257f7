#include "core/config.hpp"

#include <fstream>

#include "core/json_bounded.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

ModelConfig ModelConfig::load(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw Error("cannot read model config '" + path.string() + "' (missing? see the model directory section of the README)");
    try {
        return from_json(parse_bounded_json(in), path.string());
    } catch (const nlohmann::json::exception& e) {
        throw Error("model config '" + path.string() + "' is not valid JSON: " + e.what());
    }
}

ModelConfig ModelConfig::from_json(nlohmann::json json, std::string source) {
    ModelConfig config;
    if (!json.is_object()) throw Error("model config '" + source + "' is not a JSON object");
    config.json_ = std::move(json);
    config.source_ = std::move(source);
    return config;
}

bool ModelConfig::has(const std::string& key) const { return json_.contains(key) && !json_[key].is_null(); }

int64_t ModelConfig::get_int(const std::string& key) {
    if (has(key) && json_[key].is_number_integer()) return json_[key].get<int64_t>();
    problems_.push_back("'" + key + "' is " + (has(key) ? "not an integer" : "missing"));
    return 0;
}
double ModelConfig::get_double(const std::string& key) {
    if (has(key) && json_[key].is_number()) return json_[key].get<double>();
    problems_.push_back("'" + key + "' is " + (has(key) ? "not a number" : "missing"));
    return 0;
}
std::string ModelConfig::get_string(const std::string& key) {
    if (has(key) && json_[key].is_string()) return json_[key].get<std::string>();
    problems_.push_back("'" + key + "' is " + (has(key) ? "not a string" : "missing"));
    return {};
}
int64_t ModelConfig::get_int(const std::string& key, int64_t fallback) { return has(key) ? get_int(key) : fallback; }
double ModelConfig::get_double(const std::string& key, double fallback) { return has(key) ? get_double(key) : fallback; }
std::string ModelConfig::get_string(const std::string& key, const std::string& fallback) {
    return has(key) ? get_string(key) : fallback;
}
bool ModelConfig::get_bool(const std::string& key, bool fallback) {
    if (!has(key)) return fallback;
    if (json_[key].is_boolean()) return json_[key].get<bool>();
    problems_.push_back("'" + key + "' is not a boolean");
    return fallback;
}

void ModelConfig::expect_one_of(const std::string& key, const std::vector<std::string>& allowed, const std::string& fallback) {
    const std::string value = get_string(key, fallback);
    for (const auto& a : allowed)
        if (value == a) return;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    problems_.push_back("'" + key + "' = '" + value + "' is not supported (supported: " + list + ")");
}

ModelConfig ModelConfig::sub(const std::string& key) {
    if (!has(key) || !json_[key].is_object()) {
        problems_.push_back("'" + key + "' is missing or not an object");
        return from_json(nlohmann::json::object(), source_ + " [" + key + "]");
    }
    return from_json(json_[key], source_ + " [" + key + "]");
}

void ModelConfig::check() const {
    if (problems_.empty()) return;
    std::string msg = "unsupported model config '" + source_ + "': ";
    for (size_t i = 0; i < problems_.size(); ++i) msg += (i ? "; " : "") + problems_[i];
    throw Error(msg);
}

}  // namespace zgseg
