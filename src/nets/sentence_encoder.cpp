#include "nets/sentence_encoder.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/json_bounded.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The parts of modules.json this class implements.
struct Pipeline {
    fs::path transformer_dir;
    fs::path pooling_dir;
    bool normalize = false;
};

Pipeline read_modules(const fs::path& dir) {
    const fs::path file = dir / "modules.json";
    std::ifstream in(file);
    if (!in)
        throw Error("cannot read '" + file.string() +
                    "': a sentence-transformers model folder (modules.json, config.json, model.safetensors, "
                    "1_Pooling/config.json) is expected");
    nlohmann::json modules;
    try {
        modules = parse_bounded_json(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error("'" + file.string() + "' is not valid JSON: " + e.what());
    }
    if (!modules.is_array()) throw Error("'" + file.string() + "' is not a JSON array of modules");

    Pipeline p;
    std::vector<std::string> problems;
    int transformers = 0, poolings = 0;
    for (size_t i = 0; i < modules.size(); ++i) {
        const auto& m = modules[i];
        if (!m.is_object() || !m.contains("type") || !m["type"].is_string()) {
            problems.push_back("module " + std::to_string(i) + " has no 'type'");
            continue;
        }
        const std::string type = m["type"].get<std::string>();
        const std::string path = m.contains("path") && m["path"].is_string() ? m["path"].get<std::string>() : "";
        // Where each module sits in the pipeline matters: pooling needs token
        // embeddings, normalisation a pooled vector.
        if (ends_with(type, ".Transformer")) {
            if (i != 0) problems.push_back("the Transformer module must come first");
            p.transformer_dir = dir / path;
            ++transformers;
        } else if (ends_with(type, ".Pooling")) {
            if (transformers == 0 || poolings > 0 || p.normalize)
                problems.push_back("the Pooling module must follow the Transformer once");
            p.pooling_dir = dir / path;
            ++poolings;
        } else if (ends_with(type, ".Normalize")) {
            if (poolings == 0) problems.push_back("the Normalize module must follow the Pooling module");
            p.normalize = true;
        } else {
            problems.push_back("module " + std::to_string(i) + " of type '" + type +
                               "' is not supported (supported: Transformer, Pooling, Normalize)");
        }
    }
    if (transformers != 1) problems.push_back("exactly one Transformer module is required");
    if (poolings != 1) problems.push_back("exactly one Pooling module is required");
    if (!problems.empty()) {
        std::string msg = "unsupported sentence-transformers pipeline '" + file.string() + "': ";
        for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
        throw Error(msg);
    }
    return p;
}

// Sentence-transformers pooling config, old (pooling_mode_*_tokens flags) or new ("pooling_mode") form.
void check_pooling(const fs::path& pooling_dir, int64_t hidden_size) {
    ModelConfig json = ModelConfig::load(pooling_dir / "config.json");
    if (json.has("pooling_mode")) {
        const auto& mode = json.json()["pooling_mode"];
        const bool mean = (mode.is_string() && mode == "mean") ||
                          (mode.is_array() && mode.size() == 1 && mode[0].is_string() && mode[0] == "mean");
        if (!mean) json.problem("'pooling_mode' = " + mode.dump() + " is not supported (supported: \"mean\")");
    } else {
        // All flags false means mean pooling, as sentence-transformers reads it.
        for (const char* flag : {"pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                                 "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"})
            if (json.get_bool(flag, false))
                json.problem(std::string("'").append(flag).append("' = true is not supported (mean pooling only)"));
    }
    const char* dim_key = json.has("embedding_dimension") ? "embedding_dimension" : "word_embedding_dimension";
    if (json.has(dim_key) && json.get_int(dim_key) != hidden_size)
        json.problem(std::string("'").append(dim_key).append("' = ") + std::to_string(json.get_int(dim_key)) +
                     " differs from the transformer's hidden_size " + std::to_string(hidden_size));
    json.check();
}

int64_t read_max_seq_length(const fs::path& transformer_dir, int64_t model_limit) {
    const fs::path file = transformer_dir / "sentence_bert_config.json";
    if (!fs::exists(file)) return model_limit;
    ModelConfig json = ModelConfig::load(file);
    const int64_t n = json.get_int("max_seq_length", model_limit);
    if (n <= 0) json.problem("'max_seq_length' must be positive");
    json.check();
    return std::min(n, model_limit);
}

}  // namespace

SentenceEncoder SentenceEncoder::load(const fs::path& dir, torch::Device device, torch::ScalarType dtype) {
    const Pipeline p = read_modules(dir);
    SentenceEncoder s;
    s.encoder_ = load_token_encoder(p.transformer_dir, device, dtype);
    check_pooling(p.pooling_dir, s.encoder_->hidden_size());
    s.max_seq_length_ = read_max_seq_length(p.transformer_dir, s.encoder_->max_tokens());
    s.normalize_ = p.normalize;
    s.device_ = device;
    return s;
}

torch::Tensor SentenceEncoder::encode(const std::vector<std::vector<int64_t>>& sequences) const {
    torch::NoGradGuard no_grad;
    const int64_t B = static_cast<int64_t>(sequences.size());
    int64_t T = 0;
    for (size_t i = 0; i < sequences.size(); ++i) {
        const int64_t n = static_cast<int64_t>(sequences[i].size());
        if (n == 0) throw Error("sentence encoder: sequence " + std::to_string(i) + " is empty (expected tokenizer output)");
        if (n > max_seq_length_)
            throw Error("sentence encoder: sequence " + std::to_string(i) + " has " + std::to_string(n) +
                        " tokens, more than the model's max_seq_length " + std::to_string(max_seq_length_) +
                        " (truncate it when tokenizing)");
        T = std::max(T, n);
    }
    if (B == 0) return torch::empty({0, dimension()}, torch::TensorOptions().dtype(torch::kFloat32).device(device_));

    // Right-pad with the pad token, as the tokenizer's padding does.
    torch::Tensor ids = torch::full({B, T}, encoder_->pad_token_id(), torch::kInt64);  // (B, T)
    torch::Tensor mask = torch::zeros({B, T}, torch::kInt64);                           // (B, T)
    for (int64_t b = 0; b < B; ++b) {
        const auto& seq = sequences[b];
        const int64_t n = static_cast<int64_t>(seq.size());
        ids[b].slice(0, 0, n).copy_(torch::from_blob(const_cast<int64_t*>(seq.data()), {n}, torch::kInt64));
        mask[b].slice(0, 0, n).fill_(1);
    }
    ids = ids.to(device_);
    mask = mask.to(device_);

    const torch::Tensor hidden = encoder_->forward(ids, mask);  // (B, T, C)
    // Mean over real tokens, accumulated in float32.
    const torch::Tensor m = mask.unsqueeze(-1).to(hidden.scalar_type());  // (B, T, 1)
    const torch::Tensor sum = (hidden * m).sum(1, false, torch::kFloat32);   // (B, C)
    const torch::Tensor count = m.sum(1, false, torch::kFloat32).clamp_min(1e-9);  // (B, 1)
    torch::Tensor pooled = sum / count;                                       // (B, C)
    if (normalize_) pooled = pooled / pooled.norm(2, {-1}, true).clamp_min(1e-12);
    return pooled;
}

}  // namespace zgseg
