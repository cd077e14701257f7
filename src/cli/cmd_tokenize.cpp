// `zgseg tokenize --tokenizer {gpt2,clip,sbert} --jsonl`: one JSON string per
// line on stdin → one JSON array of ids per line on stdout (Hugging Face
// `tokenizer(text)["input_ids"]` semantics); --decode reverses it for GPT-2.
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "core/model_dir.hpp"
#include "io/input_guard.hpp"
#include "text/tokenize_jsonl.hpp"
#include "zgseg/inspect.hpp"
#include "zgseg/error.hpp"

namespace zgseg::cli {

namespace {

struct TokenizeOptions {
    CommonOptions common;
    std::string tokenizer;
    std::string sbert_folder = kSbertFolder;
    std::string tokenizer_dir;
    bool jsonl = true;
    bool decode = false;
};

}  // namespace

Action add_tokenize_command(CLI::App& app) {
    auto o = std::make_shared<TokenizeOptions>();
    auto* cmd = app.add_subcommand("tokenize", "Tokenize JSON strings from stdin, one per line, into JSON id arrays "
                                               "(Hugging Face input_ids semantics)");
    cmd->add_option("--tokenizer", o->tokenizer, "Which tokenizer")->required()->check(CLI::IsMember({"gpt2", "clip", "sbert"}));
    cmd->add_flag("--jsonl", o->jsonl, "Input and output are JSON lines (the only format)");
    cmd->add_flag("--decode", o->decode, "GPT-2 only: JSON id arrays in, JSON strings out");
    cmd->add_option("--sbert-model", o->sbert_folder, "Sentence-BERT folder name in the model directory")
        ->check(CLI::IsMember({kSbertFolder, "all-MiniLM-L6-v2"}));
    cmd->add_option("--tokenizer-dir", o->tokenizer_dir, "Read the tokenizer files from this folder instead");
    cmd->add_option("--models", o->common.models, "Model directory (tokenizer files bundled with zgseg are the fallback)");
    add_logging_options(cmd, o->common);
    return [o]() -> int {
        apply_common_options(o->common);
        if (o->decode && o->tokenizer != "gpt2") throw UsageError("--decode works with --tokenizer gpt2 only");
        std::filesystem::path dir = o->tokenizer_dir;
        if (dir.empty()) {
            const auto models = ModelDirectory::resolve(o->common.models);
            const std::string folder = o->tokenizer == "gpt2"   ? kGpt2Folder
                                       : o->tokenizer == "clip" ? kClipFolder
                                                                : o->sbert_folder;
            // The model folder when it has the files, else the bundled copy.
            dir = models.file(folder, o->tokenizer == "sbert" ? "vocab.txt" : "vocab.json").parent_path();
        }
        return tokenize_jsonl(std::cin, std::cout, std::cerr, o->tokenizer, dir, o->decode);
    };
}

Action add_inspect_command(CLI::App& app) {
    struct InspectOptions {
        CommonOptions common;
        InspectRequest request;
        std::string image, text, out;
    };
    auto o = std::make_shared<InspectOptions>();
    auto* cmd = app.add_subcommand("inspect", "Run one network on an input with zgseg's preprocessing and write its "
                                              "outputs to a safetensors file (to check a model folder)");
    cmd->add_option("network", o->request.network, "Which network")
        ->required()
        ->check(CLI::IsMember({"dino", "clip-image", "clip-text", "gpt2", "sbert"}));
    cmd->add_option("--image", o->image, "Input image (dino, clip-image)");
    cmd->add_option("--text-jsonl", o->text, "Input texts, one JSON string a line (clip-text, gpt2, sbert)");
    cmd->add_option("--out", o->out, "Output FILE.safetensors")->required();
    cmd->add_option("--model-dir", o->request.model_dir, "The network's folder (default: its folder in --models)");
    cmd->add_option("--dino-size", o->request.dino_size, "Shorter side for DINO")->check(CLI::Range(32, 1024));
    cmd->add_option("--dino-stride", o->request.dino_stride, "DINO stride")->check(CLI::Range(1, 8));
    cmd->add_flag("--overwrite", o->request.overwrite, "Replace an existing output file");
    add_common_options(cmd, o->common);
    return [o]() -> int {
        apply_common_options(o->common);
        auto& r = o->request;
        r.image = o->image;
        r.text_jsonl = o->text;
        r.out = o->out;
        r.device = o->common.device == "cuda" ? "cuda" : "cpu";
        if (r.model_dir.empty()) {
            const auto models = ModelDirectory::resolve(o->common.models);
            const std::string folder = r.network == "dino"    ? kDinoFolder
                                       : r.network == "gpt2"  ? kGpt2Folder
                                       : r.network == "sbert" ? kSbertFolder
                                                              : kClipFolder;
            models.require({folder});
            r.model_dir = models.folder(folder);
        }
        // --out must never replace what inspect reads: the input or the model's own files.
        protect_input(r.image);
        protect_input(r.text_jsonl);
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(r.model_dir, ec))
            protect_input(entry.path());
        std::cout << run_inspect(r) << "\n";
        return 0;
    };
}

}  // namespace zgseg::cli
