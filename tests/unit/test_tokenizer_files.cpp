// Tokenizer files that are missing or corrupt must give a zgseg::Error naming
// the file; the JSON-lines command must name the bad input line. Also the BPE
// merge engine on a hand-made vocabulary and the CLIP loader from OpenAI's gzip.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <sstream>

#include "text/byte_bpe.hpp"
#include "text/clip_tokenizer.hpp"
#include "text/gpt2_tokenizer.hpp"
#include "text/tokenize_jsonl.hpp"
#include "text/utf8.hpp"
#include "text/wordpiece_tokenizer.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;
using Ids = std::vector<std::int32_t>;

namespace {

const fs::path kModels = fs::path(ZGSEG_TEST_DATA).parent_path().parent_path() / "models";

struct TempDir {
    fs::path path;
    TempDir() {
        static int counter = 0;
        path = fs::temp_directory_path() / ("zgseg_tok_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    fs::path write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name, std::ios::binary) << text;
        return path / name;
    }
    void copy_from(const fs::path& dir, std::initializer_list<const char*> names) const {
        for (const char* n : names) fs::copy_file(dir / n, path / n, fs::copy_options::overwrite_existing);
    }
};

// Runs f, expects a zgseg::Error whose message contains every fragment.
template <typename F>
void expect_error(F f, std::initializer_list<std::string> fragments) {
    try {
        f();
        ADD_FAILURE() << "no error thrown";
    } catch (const zgseg::Error& e) {
        for (const auto& frag : fragments)
            EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << "\"" << frag << "\" not in: " << e.what();
    }
}

// A byte-level vocabulary of the 256 byte characters plus "he", "hel", "hell", "hello".
std::string tiny_vocab_json(bool with_bytes = true) {
    nlohmann::json v = nlohmann::json::object();
    int id = 0;
    if (with_bytes)
        for (int b = 0; b < 256; ++b) {
            std::string c;
            zgseg::utf8::append(c, zgseg::byte_to_unicode()[static_cast<std::size_t>(b)]);
            v[c] = id++;
        }
    for (const char* t : {"he", "hel", "hell", "hello", "ll"}) v[t] = id++;
    return v.dump();
}

}  // namespace

TEST(BytePairEncoder, AppliesMergesByRank) {
    TempDir d;
    d.write("vocab.json", tiny_vocab_json());
    // "l l" has the lowest rank, so "hello" becomes he + ll + o, not hello.
    d.write("merges.txt", "#version: 0.2\nl l\nh e\nhe l\nhel l\nhell o\n");
    const auto tok = zgseg::Gpt2Tokenizer::from_folder(d.path);
    EXPECT_EQ(tok.encode("hello"), (Ids{256, 260, 'o'}));  // byte ids = byte values here
    d.write("merges.txt", "h e\nhe l\nhel l\nhell o\nl l\n");
    EXPECT_EQ(zgseg::Gpt2Tokenizer::from_folder(d.path).encode("hello"), (Ids{259}));
}

TEST(TokenizerFiles, Gpt2MissingOrCorruptFilesAreNamed) {
    TempDir d;
    expect_error([&] { zgseg::Gpt2Tokenizer::from_folder(d.path); }, {"vocab.json"});
    d.write("vocab.json", "{not json");
    expect_error([&] { zgseg::Gpt2Tokenizer::from_folder(d.path); }, {"vocab.json", "not valid JSON"});
    d.write("vocab.json", "[1, 2]");
    expect_error([&] { zgseg::Gpt2Tokenizer::from_folder(d.path); }, {"vocab.json"});
    d.write("vocab.json", R"({"a": "x"})");
    expect_error([&] { zgseg::Gpt2Tokenizer::from_folder(d.path); }, {"vocab.json", "\"a\""});
    d.write("vocab.json", tiny_vocab_json());
    expect_error([&] { zgseg::Gpt2Tokenizer::from_folder(d.path); }, {"merges.txt"});
    d.write("merges.txt", "#version: 0.2\nh e\nhe\n");
    expect_error([&] { zgseg::Gpt2Tokenizer::from_folder(d.path); }, {"merges.txt", "line 3"});
    d.write("merges.txt", "h e\nx yz\n");
    expect_error([&] { zgseg::Gpt2Tokenizer::from_folder(d.path); }, {"merges.txt", "merge 2", "vocab.json"});
    d.write("merges.txt", "h e\n\xff\xfe\n");
    expect_error([&] { zgseg::Gpt2Tokenizer::from_folder(d.path); }, {"merges.txt", "UTF-8"});
    d.write("merges.txt", "h e\n");
    d.write("vocab.json", tiny_vocab_json(false));
    expect_error([&] { zgseg::Gpt2Tokenizer::from_folder(d.path); }, {"vocab.json", "byte"});
}

TEST(TokenizerFiles, ClipMissingOrCorruptFilesAreNamed) {
    TempDir d;
    expect_error([&] { zgseg::ClipTokenizer::from_folder(d.path); }, {"vocab.json"});
    d.write("bpe_simple_vocab_16e6.txt.gz", "this is not gzip data at all");
    expect_error([&] { zgseg::ClipTokenizer::from_folder(d.path); }, {"bpe_simple_vocab_16e6.txt.gz"});
    d.copy_from(kModels / "clip-vit-large-patch14-336", {"vocab.json"});
    expect_error([&] { zgseg::ClipTokenizer::from_folder(d.path); }, {"merges.txt"});
    d.write("merges.txt", "#version: 0.2\nh e\n");
    d.write("vocab.json", tiny_vocab_json());
    expect_error([&] { zgseg::ClipTokenizer::from_folder(d.path); }, {"vocab.json"});  // no "</w>" tokens
}

TEST(TokenizerFiles, ClipFromOpenAiGzipEqualsTheBundledFiles) {
    // OpenAI's layout: a header line, then the merges; vocab.json is derived.
    const fs::path bundled = kModels / "clip-vit-large-patch14-336";
    std::ifstream in(bundled / "merges.txt");
    std::string merges((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    merges = merges.substr(merges.find('\n') + 1);
    TempDir d;
    const fs::path gz = d.path / "bpe_simple_vocab_16e6.txt.gz";
    gzFile f = gzopen(gz.string().c_str(), "wb");
    const std::string content = "\"bpe_simple_vocab_16e6.txt#version: 0.2\n" + merges;
    gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
    gzclose(f);
    const auto from_gz = zgseg::ClipTokenizer::from_folder(d.path);
    const auto from_files = zgseg::ClipTokenizer::from_folder(bundled);
    for (const char* s : {"a photo of a cat", "Image of a RED double-decker bus!", "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 42",
                          "jekyll <|endoftext|> x"})
        EXPECT_EQ(from_gz.encode(s), from_files.encode(s)) << s;
    EXPECT_EQ(from_gz.end_id(), 49407);
    EXPECT_EQ(from_gz.start_id(), 49406);
}

TEST(TokenizerFiles, WordPieceMissingOrCorruptFilesAreNamed) {
    const fs::path src = kModels / "all-MiniLM-L6-v2";
    TempDir d;
    expect_error([&] { zgseg::WordPieceTokenizer::from_folder(d.path); }, {"vocab.txt"});
    d.copy_from(src, {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json"});
    EXPECT_NO_THROW(zgseg::WordPieceTokenizer::from_folder(d.path));
    for (const char* name : {"tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json",
                             "tokenizer.json"}) {
        d.write(name, "{\"truncated\": ");
        expect_error([&] { zgseg::WordPieceTokenizer::from_folder(d.path); }, {name, "not valid JSON"});
        if (std::string(name) == "tokenizer.json")
            fs::remove(d.path / name);
        else
            d.copy_from(src, {name});
    }
    d.write("special_tokens_map.json", R"({"unk_token": 17})");
    expect_error([&] { zgseg::WordPieceTokenizer::from_folder(d.path); }, {"special_tokens_map.json"});
    d.write("special_tokens_map.json", R"({"unk_token": "[NOT-THERE]"})");
    expect_error([&] { zgseg::WordPieceTokenizer::from_folder(d.path); }, {"vocab.txt", "[NOT-THERE]"});
    d.copy_from(src, {"special_tokens_map.json"});
    d.write("vocab.txt", "[PAD]\n\xc3\x28\n");
    expect_error([&] { zgseg::WordPieceTokenizer::from_folder(d.path); }, {"vocab.txt", "UTF-8"});
}

TEST(ClipTokenizer, TextTowerInputKeepsTheEndTokenAndTheTrueLength) {
    const auto tok = zgseg::ClipTokenizer::from_folder(kModels / "clip-vit-large-patch14-336");
    const zgseg::ClipTokens short_caption = tok.encode_for_text_tower("Image of a dog.");
    EXPECT_EQ(short_caption.ids, tok.encode("Image of a dog."));  // true length, no padding
    EXPECT_EQ(short_caption.end_index, short_caption.ids.size() - 1);
    std::string long_text;
    for (int i = 0; i < 100; ++i) long_text += "a photo of a cat ";
    const zgseg::ClipTokens t = tok.encode_for_text_tower(long_text);
    ASSERT_EQ(t.ids.size(), 77u);
    EXPECT_EQ(t.ids.back(), tok.end_id());
    EXPECT_EQ(t.end_index, 76u);
    const Ids full = tok.encode(long_text);
    EXPECT_GT(full.size(), 77u);
    EXPECT_TRUE(std::equal(t.ids.begin(), t.ids.end() - 1, full.begin()));
}

// Where OpenAI's tokenizer (ftfy.fix_text + html.unescape) and Hugging Face's
// differ, this one is Hugging Face's; the goldens check the ids themselves.
TEST(ClipTokenizer, FtfyDifferencesArePinned) {
    const auto tok = zgseg::ClipTokenizer::from_folder(kModels / "clip-vit-large-patch14-336");
    const auto enc = [&](const char* s) { return tok.encode(s); };
    EXPECT_EQ(enc("cafe\xcc\x81"), enc("caf\xc3\xa9"));                 // NFC is applied (as ftfy does)
    EXPECT_NE(enc("Tom &amp; Jerry"), enc("Tom & Jerry"));              // no HTML unescape
    EXPECT_NE(enc("it\xe2\x80\x99s"), enc("it's"));                     // curly quote stays
    EXPECT_NE(enc("\xef\xac\x81sh"), enc("fish"));                      // ligature stays
    EXPECT_NE(enc("\xef\xbc\xa6\xef\xbc\xb5\xef\xbc\xac\xef\xbc\xac"), enc("full"));  // full width stays
    EXPECT_EQ(enc("\xce\x9f\xce\xa3"), enc("\xce\xbf\xcf\x83"));        // no final sigma: ΟΣ -> οσ
}

TEST(TokenizeJsonl, BadLinesAreNamedAndStopTheRun) {
    const fs::path gpt2 = kModels / "gpt2-medium";
    const auto run = [&](const std::string& input, const std::string& kind, bool decode, std::string& out,
                         std::string& err) {
        std::istringstream in(input);
        std::ostringstream o, e;
        const int rc = zgseg::tokenize_jsonl(in, o, e, kind, kind == "gpt2" ? gpt2 : kModels / "all-MiniLM-L6-v2", decode);
        out = o.str();
        err = e.str();
        return rc;
    };
    std::string out, err;
    EXPECT_EQ(run("\"Hello world\"\n\n\"\"\n", "gpt2", false, out, err), 0);
    EXPECT_EQ(out, "[15496,995]\n[]\n");
    EXPECT_EQ(run("\"a\"\n\"b\"\n{oops\n\"c\"\n", "gpt2", false, out, err), 1);
    EXPECT_NE(err.find("line 3"), std::string::npos) << err;
    EXPECT_EQ(out, "[64]\n[65]\n");
    EXPECT_EQ(run("\"a\"\n\"\xff\"\n", "gpt2", false, out, err), 1);
    EXPECT_NE(err.find("line 2"), std::string::npos) << err;
    EXPECT_NE(err.find("UTF-8"), std::string::npos) << err;
    EXPECT_EQ(run("42\n", "sbert", false, out, err), 1);
    EXPECT_NE(err.find("line 1"), std::string::npos) << err;
    EXPECT_EQ(run("[15496, 995]\n[447]\n", "gpt2", true, out, err), 0);
    EXPECT_EQ(out, "\"Hello world\"\n\"\xef\xbf\xbd\"\n");  // a cut character decodes to U+FFFD
    EXPECT_EQ(run("[1]\n[50257]\n", "gpt2", true, out, err), 1);
    EXPECT_NE(err.find("line 2"), std::string::npos) << err;
    EXPECT_EQ(run("\"x\"\n", "bert", false, out, err), 2);
    EXPECT_EQ(run("[1]\n", "sbert", true, out, err), 2);
    std::istringstream in("\"x\"\n");
    std::ostringstream o, e;
    EXPECT_EQ(zgseg::tokenize_jsonl(in, o, e, "clip", "/nonexistent/clip", false), 2);
    EXPECT_NE(e.str().find("/nonexistent/clip/vocab.json"), std::string::npos) << e.str();
}
