#include "text/tokenize_jsonl.hpp"

#include <functional>
#include <istream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "text/clip_tokenizer.hpp"
#include "text/gpt2_tokenizer.hpp"
#include "text/utf8.hpp"
#include "text/wordpiece_tokenizer.hpp"
#include "zgseg/error.hpp"

using nlohmann::json;

namespace zgseg {
namespace {

using Encoder = std::function<std::vector<std::int32_t>(const std::string&)>;

void write_ids(std::ostream& out, const std::vector<std::int32_t>& ids) {
    out << '[';
    for (std::size_t i = 0; i < ids.size(); ++i) out << (i ? "," : "") << ids[i];
    out << "]\n";
}

}  // namespace

int tokenize_jsonl(std::istream& in, std::ostream& out, std::ostream& err, const std::string& kind,
                   const std::filesystem::path& tokenizer_dir, bool decode) {
    std::optional<Gpt2Tokenizer> gpt2;
    Encoder encode;
    try {
        if (decode && kind != "gpt2") throw Error("decoding is only available for --tokenizer gpt2, not " + kind);
        if (kind == "gpt2") {
            gpt2.emplace(Gpt2Tokenizer::from_folder(tokenizer_dir));
            encode = [&gpt2](const std::string& s) { return gpt2->encode(s); };
        } else if (kind == "clip") {
            auto clip = std::make_shared<ClipTokenizer>(ClipTokenizer::from_folder(tokenizer_dir));
            encode = [clip](const std::string& s) { return clip->encode(s); };
        } else if (kind == "sbert") {
            auto wp = std::make_shared<WordPieceTokenizer>(WordPieceTokenizer::from_folder(tokenizer_dir));
            encode = [wp](const std::string& s) { return wp->encode(s); };
        } else {
            throw Error("unknown tokenizer kind \"" + kind + "\" (use gpt2, clip or sbert)");
        }
    } catch (const Error& e) {
        err << "error: " << e.what() << "\n";
        return 2;
    }

    std::string line;
    for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        try {
            const std::size_t bad = utf8::find_invalid(line);
            if (bad != utf8::kValid) throw Error("not valid UTF-8 (byte " + std::to_string(bad) + ")");
            json value;
            try {
                value = json::parse(line);
            } catch (const json::exception& e) {
                throw Error(std::string("not valid JSON: ") + e.what());
            }
            if (decode) {
                if (!value.is_array()) throw Error("expected a JSON array of token ids");
                std::vector<std::int32_t> ids;
                for (const auto& v : value) {
                    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > INT32_MAX)
                        throw Error("expected a JSON array of non-negative integer token ids");
                    ids.push_back(v.get<std::int32_t>());
                }
                out << json(gpt2->decode(ids)).dump() << "\n";
            } else {
                if (!value.is_string()) throw Error("expected a JSON string");
                write_ids(out, encode(value.get<std::string>()));
            }
        } catch (const Error& e) {
            err << "error: input line " << line_no << ": " << e.what() << "\n";
            return 1;
        }
    }
    return 0;
}

}  // namespace zgseg
