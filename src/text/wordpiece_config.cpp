// WordPieceConfig::from_folder: the settings transformers derives from a
// Sentence-BERT model folder.
#include <map>

#include "text/token_files.hpp"
#include "text/wordpiece_tokenizer.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zgseg {
namespace {

const char* const kRoles[] = {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};

// A special token given as "text" or as {"content": "text", "lstrip": ...}.
bool parse_token(const json& value, AddedToken& token, const std::string& source) {
    if (value.is_null()) return false;
    if (value.is_string()) {
        token.content = value.get<std::string>();
        return true;
    }
    if (!value.is_object() || !value.contains("content") || !value["content"].is_string())
        throw Error("tokenizer file " + source + ": a special token is neither a string nor {\"content\": ...}");
    token.content = value["content"].get<std::string>();
    token.lstrip = value.value("lstrip", false);
    token.rstrip = value.value("rstrip", false);
    token.single_word = value.value("single_word", false);
    token.normalized = value.value("normalized", false);
    token.special = value.value("special", true);
    return true;
}

template <typename T>
T get_or(const json& j, const char* key, T fallback, const std::string& source) {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    try {
        return j[key].get<T>();
    } catch (const json::exception&) {
        throw Error("tokenizer file " + source + ": \"" + key + "\" has the wrong type");
    }
}

// The added tokens and normaliser / model settings of a tokenizer.json.
void apply_tokenizer_json(const fs::path& path, WordPieceConfig& cfg, std::vector<std::string>& vocab) {
    const json j = read_json_file(path);
    const std::string src = path.string();
    if (!j.is_object()) throw Error("tokenizer file " + src + ": expected a JSON object");
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
        cfg.added_tokens.clear();
        for (const auto& t : j["added_tokens"]) {
            AddedToken token;
            if (!parse_token(t, token, src) || !t.contains("id") || !t["id"].is_number_integer())
                throw Error("tokenizer file " + src + ": an added token lacks its content or id");
            token.id = t["id"].get<std::int32_t>();
            cfg.added_tokens.push_back(token);
        }
    }
    const json norm = j.value("normalizer", json());
    if (norm.is_object() && norm.value("type", "") == "BertNormalizer") {
        cfg.clean_text = get_or(norm, "clean_text", cfg.clean_text, src);
        cfg.handle_chinese_chars = get_or(norm, "handle_chinese_chars", cfg.handle_chinese_chars, src);
        cfg.lowercase = get_or(norm, "lowercase", cfg.lowercase, src);
        if (norm.contains("strip_accents") && !norm["strip_accents"].is_null())
            cfg.strip_accents = get_or(norm, "strip_accents", false, src);
        else
            cfg.strip_accents.reset();
    }
    const json model = j.value("model", json());
    if (!model.is_object() || model.value("type", "") != "WordPiece")
        throw Error("tokenizer file " + src + " does not describe a WordPiece model");
    cfg.unk_token = get_or(model, "unk_token", cfg.unk_token, src);
    cfg.continuing_subword_prefix = get_or(model, "continuing_subword_prefix", cfg.continuing_subword_prefix, src);
    cfg.max_input_chars_per_word = get_or(model, "max_input_chars_per_word", cfg.max_input_chars_per_word, src);
    if (vocab.empty() && model.contains("vocab") && model["vocab"].is_object()) {
        for (const auto& [token, id] : model["vocab"].items()) {
            const auto i = id.get<std::size_t>();
            if (i >= vocab.size()) vocab.resize(i + 1);
            vocab[i] = token;
        }
    }
}

}  // namespace

WordPieceConfig WordPieceConfig::from_folder(const fs::path& folder, std::vector<std::string>& vocab) {
    WordPieceConfig cfg;
    const fs::path tc_path = folder / "tokenizer_config.json";
    const fs::path map_path = folder / "special_tokens_map.json";
    const fs::path tj_path = folder / "tokenizer.json";
    const fs::path vocab_path = folder / "vocab.txt";
    const fs::path st_path = folder / "sentence_bert_config.json";
    if (!fs::exists(vocab_path) && !fs::exists(tj_path))
        throw Error("cannot open tokenizer file " + vocab_path.string() +
                    ": missing (a WordPiece model folder needs vocab.txt or tokenizer.json)");

    const json tc = fs::exists(tc_path) ? read_json_file(tc_path) : json::object();
    const json map = fs::exists(map_path) ? read_json_file(map_path) : json::object();
    if (!tc.is_object()) throw Error("tokenizer file " + tc_path.string() + ": expected a JSON object");
    if (!map.is_object()) throw Error("tokenizer file " + map_path.string() + ": expected a JSON object");

    // Defaults of the tokenizer class, then the two config files.
    const bool mpnet = get_or(tc, "tokenizer_class", std::string(), tc_path.string()).rfind("MPNet", 0) == 0;
    std::map<std::string, AddedToken> roles;
    const auto set_default = [&](const char* role, const char* content) { roles[role].content = content; };
    if (mpnet) {
        set_default("bos_token", "<s>");
        set_default("eos_token", "</s>");
        set_default("sep_token", "</s>");
        set_default("cls_token", "<s>");
        set_default("unk_token", "[UNK]");
        set_default("pad_token", "<pad>");
        set_default("mask_token", "<mask>");
    } else {
        set_default("unk_token", "[UNK]");
        set_default("sep_token", "[SEP]");
        set_default("pad_token", "[PAD]");
        set_default("cls_token", "[CLS]");
        set_default("mask_token", "[MASK]");
    }
    for (const auto& [j, src] : {std::make_pair(&tc, tc_path.string()), std::make_pair(&map, map_path.string())}) {
        for (const char* role : kRoles) {
            if (!j->contains(role)) continue;
            AddedToken t;
            if (!parse_token((*j)[role], t, src)) {
                roles.erase(role);
                continue;
            }
            // MPNetTokenizer gives a mask token given as plain text lstrip.
            if ((*j)[role].is_string() && mpnet && std::string(role) == "mask_token") t.lstrip = true;
            roles[role] = t;
        }
    }
    cfg.lowercase = get_or(tc, "do_lower_case", true, tc_path.string());
    if (tc.contains("strip_accents") && !tc["strip_accents"].is_null())
        cfg.strip_accents = get_or(tc, "strip_accents", false, tc_path.string());
    cfg.handle_chinese_chars = get_or(tc, "tokenize_chinese_chars", true, tc_path.string());
    const double model_max = get_or(tc, "model_max_length", 512.0, tc_path.string());
    if (model_max > 0 && model_max < 1e6) cfg.max_length = static_cast<std::size_t>(model_max);

    if (roles.count("unk_token")) cfg.unk_token = roles["unk_token"].content;
    if (!roles.count("cls_token") || !roles.count("sep_token"))
        throw Error("tokenizer file " + tc_path.string() + ": the start (cls_token) or end (sep_token) token is unset");
    cfg.cls_token = roles["cls_token"].content;
    cfg.sep_token = roles["sep_token"].content;
    for (const auto& [role, t] : roles) cfg.added_tokens.push_back(t);
    if (tc.contains("added_tokens_decoder") && tc["added_tokens_decoder"].is_object()) {
        for (const auto& [id, value] : tc["added_tokens_decoder"].items()) {
            AddedToken t;
            if (!parse_token(value, t, tc_path.string()))
                throw Error("tokenizer file " + tc_path.string() + ": bad entry in added_tokens_decoder");
            t.id = std::stoi(id);
            cfg.added_tokens.push_back(t);
        }
    }

    if (fs::exists(vocab_path)) vocab = read_vocab_txt(vocab_path);
    if (fs::exists(tj_path)) apply_tokenizer_json(tj_path, cfg, vocab);
    if (vocab.empty()) throw Error("tokenizer file " + tj_path.string() + " holds no WordPiece vocabulary");

    if (fs::exists(st_path)) {
        const json st = read_json_file(st_path);
        if (!st.is_object()) throw Error("tokenizer file " + st_path.string() + ": expected a JSON object");
        const auto max_seq = get_or(st, "max_seq_length", std::int64_t(0), st_path.string());
        if (max_seq > 0) cfg.max_length = static_cast<std::size_t>(max_seq);
    }
    return cfg;
}

}  // namespace zgseg
