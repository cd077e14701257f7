#include "bench/random_models.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "core/model_dir.hpp"
#include "core/safetensors.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zgseg::bench {

namespace {

enum class Init { Normal, Ones, Zeros, Constant };

struct TensorSpec {
    std::string name;
    std::vector<int64_t> shape;
    Init init = Init::Normal;
    float value = 0;  // Init::Constant
};
using Specs = std::vector<TensorSpec>;

void add_linear(Specs& s, const std::string& name, int64_t in, int64_t out, bool bias = true) {
    s.push_back({name + ".weight", {out, in}});
    if (bias) s.push_back({name + ".bias", {out}, Init::Zeros});
}
// GPT-2's Conv1D stores the transpose: (in, out).
void add_conv1d(Specs& s, const std::string& name, int64_t in, int64_t out) {
    s.push_back({name + ".weight", {in, out}});
    s.push_back({name + ".bias", {out}, Init::Zeros});
}
void add_norm(Specs& s, const std::string& name, int64_t c) {
    s.push_back({name + ".weight", {c}, Init::Ones});
    s.push_back({name + ".bias", {c}, Init::Zeros});
}

torch::Tensor make(const TensorSpec& t) {
    switch (t.init) {
        case Init::Normal: return torch::randn(t.shape) * 0.02;
        case Init::Ones: return torch::ones(t.shape);
        case Init::Zeros: return torch::zeros(t.shape);
        case Init::Constant: return torch::full(t.shape, t.value);
    }
    return {};
}

// Writes a float32 safetensors file tensor by tensor (never the whole model in
// memory), in name order, to a temporary name renamed into place at the end.
void write_random_safetensors(const fs::path& file, Specs specs, uint64_t seed) {
    std::sort(specs.begin(), specs.end(), [](const TensorSpec& a, const TensorSpec& b) { return a.name < b.name; });
    SafetensorsWriter writer({{"format", "pt"}, {"zgseg", "random weights for benchmarking"}},
                             SafetensorsWriter::HeaderOrder::Sorted);
    for (const auto& t : specs)
        writer.add(t.name, DType::F32, t.shape, [&t](const SafetensorsWriter::Sink& sink) {
            const auto values = make(t).to(torch::kFloat32).contiguous();
            sink(values.data_ptr(), values.nbytes());
        });

    const fs::path tmp = file.string() + ".tmp";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    auto check = [&] {
        if (!out) throw Error("cannot write '" + tmp.string() + "' (disk full? the full-size models take 3.6 GB; "
                              "give another --cache-dir)");
    };
    check();
    torch::manual_seed(seed);
    writer.write([&](const void* data, size_t bytes) {
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
        check();
    });
    out.close();
    check();
    std::error_code ec;
    fs::rename(tmp, file, ec);
    if (ec) throw Error("cannot rename '" + tmp.string() + "' to '" + file.string() + "': " + ec.message());
}

void write_json(const fs::path& file, const json& value) {
    std::ofstream out(file);
    out << value.dump(2) << "\n";
    if (!out) throw Error("cannot write '" + file.string() + "'");
}

void copy_bundled(const std::string& folder, const std::vector<std::string>& files, const fs::path& dir) {
    const fs::path bundled = bundled_models_dir() / folder;
    for (const auto& f : files) {
        std::error_code ec;
        fs::copy_file(bundled / f, dir / f, fs::copy_options::overwrite_existing, ec);
        if (ec)
            throw Error("cannot copy the bundled tokenizer file '" + (bundled / f).string() + "' to '" + dir.string() +
                        "': " + ec.message());
    }
}

struct Model {
    std::string folder;
    json config;
    Specs tensors;
    std::vector<std::string> bundled_files;  // tokenizer files copied from models/<folder>
    std::vector<std::pair<std::string, json>> extra_json;  // e.g. modules.json
};

Model dino(ModelSize size) {
    const bool full = size == ModelSize::Full;
    const int64_t C = full ? 384 : 32, I = full ? 1536 : 64, L = full ? 12 : 2, H = full ? 6 : 2;
    const int64_t image = 224, patch = 8, positions = 1 + (image / patch) * (image / patch);
    Model m{kDinoFolder, {}, {}, {}, {}};
    m.config = {{"architectures", {"ViTModel"}}, {"model_type", "vit"}, {"hidden_size", C},
                {"num_hidden_layers", L}, {"num_attention_heads", H}, {"intermediate_size", I},
                {"hidden_act", "gelu"}, {"image_size", image}, {"patch_size", patch}, {"num_channels", 3},
                {"layer_norm_eps", 1e-12}, {"qkv_bias", true}, {"attention_probs_dropout_prob", 0.0},
                {"hidden_dropout_prob", 0.0}, {"initializer_range", 0.02}, {"torch_dtype", "float32"}};
    auto& s = m.tensors;
    s.push_back({"embeddings.cls_token", {1, 1, C}});
    s.push_back({"embeddings.position_embeddings", {1, positions, C}});
    s.push_back({"embeddings.patch_embeddings.projection.weight", {C, 3, patch, patch}});
    s.push_back({"embeddings.patch_embeddings.projection.bias", {C}, Init::Zeros});
    for (int64_t i = 0; i < L; ++i) {
        const std::string l = "encoder.layer." + std::to_string(i) + ".";
        for (const char* p : {"query", "key", "value"}) add_linear(s, l + "attention.attention." + p, C, C);
        add_linear(s, l + "attention.output.dense", C, C);
        add_linear(s, l + "intermediate.dense", C, I);
        add_linear(s, l + "output.dense", I, C);
        add_norm(s, l + "layernorm_before", C);
        add_norm(s, l + "layernorm_after", C);
    }
    add_norm(s, "layernorm", C);
    return m;
}

void add_clip_tower(Specs& s, const std::string& prefix, int64_t C, int64_t I, int64_t L) {
    for (int64_t i = 0; i < L; ++i) {
        const std::string l = prefix + "encoder.layers." + std::to_string(i) + ".";
        for (const char* p : {"q_proj", "k_proj", "v_proj", "out_proj"}) add_linear(s, l + "self_attn." + p, C, C);
        add_norm(s, l + "layer_norm1", C);
        add_linear(s, l + "mlp.fc1", C, I);
        add_linear(s, l + "mlp.fc2", I, C);
        add_norm(s, l + "layer_norm2", C);
    }
}

Model clip(ModelSize size) {
    const bool full = size == ModelSize::Full;
    const int64_t V = full ? 1024 : 64, VI = full ? 4096 : 128, VL = full ? 24 : 6, VH = full ? 16 : 2;
    const int64_t T = full ? 768 : 32, TI = full ? 3072 : 64, TL = full ? 12 : 2, TH = full ? 12 : 2;
    const int64_t P = full ? 768 : 32, image = 336, patch = 14, grid = image / patch, vocab = 49408, context = 77;
    Model m{kClipFolder, {}, {}, {"vocab.json", "merges.txt"}, {}};
    // As openai/clip-vit-large-patch14-336's config: the old eos_token_id = 2 (pooling at the largest id).
    m.config = {{"architectures", {"CLIPModel"}},
                {"model_type", "clip"},
                {"projection_dim", P},
                {"logit_scale_init_value", 2.6592},
                {"text_config", {{"hidden_size", T}, {"intermediate_size", TI}, {"num_attention_heads", TH},
                                 {"num_hidden_layers", TL}, {"max_position_embeddings", context},
                                 {"vocab_size", vocab}, {"hidden_act", "quick_gelu"}, {"layer_norm_eps", 1e-5},
                                 {"bos_token_id", 0}, {"eos_token_id", 2}, {"pad_token_id", 1},
                                 {"projection_dim", P}}},
                {"vision_config", {{"hidden_size", V}, {"intermediate_size", VI}, {"num_attention_heads", VH},
                                   {"num_hidden_layers", VL}, {"image_size", image}, {"patch_size", patch},
                                   {"hidden_act", "quick_gelu"}, {"layer_norm_eps", 1e-5},
                                   {"projection_dim", P}}}};
    auto& s = m.tensors;
    s.push_back({"vision_model.embeddings.class_embedding", {V}});
    s.push_back({"vision_model.embeddings.patch_embedding.weight", {V, 3, patch, patch}});
    s.push_back({"vision_model.embeddings.position_embedding.weight", {1 + grid * grid, V}});
    add_norm(s, "vision_model.pre_layrnorm", V);  // sic: Hugging Face's name
    add_clip_tower(s, "vision_model.", V, VI, VL);
    add_norm(s, "vision_model.post_layernorm", V);
    s.push_back({"visual_projection.weight", {P, V}});
    s.push_back({"text_model.embeddings.token_embedding.weight", {vocab, T}});
    s.push_back({"text_model.embeddings.position_embedding.weight", {context, T}});
    add_clip_tower(s, "text_model.", T, TI, TL);
    add_norm(s, "text_model.final_layer_norm", T);
    s.push_back({"text_projection.weight", {P, T}});
    s.push_back({"logit_scale", {}, Init::Constant, 2.6592f});
    return m;
}

Model gpt2(ModelSize size) {
    const bool full = size == ModelSize::Full;
    const int64_t C = full ? 1024 : 32, L = full ? 24 : 2, H = full ? 16 : 2, positions = full ? 1024 : 128;
    const int64_t vocab = 50257;
    Model m{kGpt2Folder, {}, {}, {"vocab.json", "merges.txt"}, {}};
    m.config = {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"vocab_size", vocab},
                {"n_positions", positions}, {"n_ctx", positions}, {"n_embd", C}, {"n_layer", L}, {"n_head", H},
                {"activation_function", "gelu_new"}, {"layer_norm_epsilon", 1e-5}, {"bos_token_id", 50256},
                {"eos_token_id", 50256}, {"initializer_range", 0.02}};
    auto& s = m.tensors;  // the hub layout: no "transformer." prefix, LM head tied to wte
    s.push_back({"wte.weight", {vocab, C}});
    s.push_back({"wpe.weight", {positions, C}});
    for (int64_t i = 0; i < L; ++i) {
        const std::string p = "h." + std::to_string(i) + ".";
        add_norm(s, p + "ln_1", C);
        add_conv1d(s, p + "attn.c_attn", C, 3 * C);
        add_conv1d(s, p + "attn.c_proj", C, C);
        add_norm(s, p + "ln_2", C);
        add_conv1d(s, p + "mlp.c_fc", C, 4 * C);
        add_conv1d(s, p + "mlp.c_proj", 4 * C, C);
    }
    add_norm(s, "ln_f", C);
    return m;
}

Model mpnet(ModelSize size) {
    const bool full = size == ModelSize::Full;
    const int64_t C = full ? 768 : 32, I = full ? 3072 : 64, L = full ? 12 : 2, H = full ? 12 : 2;
    const int64_t vocab = 30527, positions = 514;
    Model m{kSbertFolder,
            {},
            {},
            {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
             "sentence_bert_config.json"},
            {}};
    m.config = {{"architectures", {"MPNetModel"}}, {"model_type", "mpnet"}, {"vocab_size", vocab},
                {"hidden_size", C}, {"num_hidden_layers", L}, {"num_attention_heads", H},
                {"intermediate_size", I}, {"hidden_act", "gelu"}, {"max_position_embeddings", positions},
                {"layer_norm_eps", 1e-5}, {"relative_attention_num_buckets", 32}, {"pad_token_id", 1},
                {"bos_token_id", 0}, {"eos_token_id", 2}, {"initializer_range", 0.02}};
    m.extra_json = {
        {"modules.json",
         json::array({{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
                      {{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}},
                      {{"idx", 2}, {"name", "2"}, {"path", "2_Normalize"},
                       {"type", "sentence_transformers.models.Normalize"}}})},
        {"1_Pooling/config.json",
         {{"word_embedding_dimension", C}, {"pooling_mode_cls_token", false}, {"pooling_mode_mean_tokens", true},
          {"pooling_mode_max_tokens", false}, {"pooling_mode_mean_sqrt_len_tokens", false}}}};
    auto& s = m.tensors;
    s.push_back({"embeddings.word_embeddings.weight", {vocab, C}});
    s.push_back({"embeddings.position_embeddings.weight", {positions, C}});
    add_norm(s, "embeddings.LayerNorm", C);
    for (int64_t i = 0; i < L; ++i) {
        const std::string l = "encoder.layer." + std::to_string(i) + ".";
        for (const char* p : {"q", "k", "v", "o"}) add_linear(s, l + "attention.attn." + p, C, C);
        add_norm(s, l + "attention.LayerNorm", C);
        add_linear(s, l + "intermediate.dense", C, I);
        add_linear(s, l + "output.dense", I, C);
        add_norm(s, l + "output.LayerNorm", C);
    }
    s.push_back({"encoder.relative_attention_bias.weight", {32, H}});
    return m;
}

}  // namespace

std::vector<std::string> ensure_random_models(const fs::path& root, ModelSize size, uint64_t seed) {
    std::vector<std::string> created;
    for (const Model& m : {dino(size), clip(size), gpt2(size), mpnet(size)}) {
        const fs::path dir = root / m.folder;
        if (fs::exists(dir / "model.safetensors")) continue;
        log::info("creating random-weight model " + dir.string() + " (once)");
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) throw Error("cannot create '" + dir.string() + "': " + ec.message() + "; give another --cache-dir");
        write_json(dir / "config.json", m.config);
        for (const auto& [name, value] : m.extra_json) {
            fs::create_directories((dir / name).parent_path(), ec);
            write_json(dir / name, value);
        }
        copy_bundled(m.folder, m.bundled_files, dir);
        write_random_safetensors(dir / "model.safetensors", m.tensors, seed);
        created.push_back(m.folder);
    }
    return created;
}

}  // namespace zgseg::bench
