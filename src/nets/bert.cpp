#include "nets/bert.hpp"

#include <cmath>

#include "core/config.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

namespace {

// Fields BERT and MPNet configs share.
struct EncoderConfig {
    int64_t vocab_size = 0, hidden_size = 0, layers = 0, heads = 0, intermediate_size = 0, max_positions = 0;
    int64_t pad_token_id = 0;
    double layer_norm_eps = 1e-12;
    Activation act = Activation::GeluErf;

    static EncoderConfig read(ModelConfig& json, int64_t default_pad) {
        EncoderConfig c;
        c.vocab_size = json.get_int("vocab_size");
        c.hidden_size = json.get_int("hidden_size");
        c.layers = json.get_int("num_hidden_layers");
        c.heads = json.get_int("num_attention_heads");
        c.intermediate_size = json.get_int("intermediate_size");
        c.max_positions = json.get_int("max_position_embeddings");
        c.pad_token_id = json.get_int("pad_token_id", default_pad);
        c.layer_norm_eps = json.get_double("layer_norm_eps", 1e-12);
        const std::string act = json.get_string("hidden_act", "gelu");
        if (!parse_activation(act, c.act))
            json.problem("'hidden_act' = '" + act + "' is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh)");
        for (const auto& [key, value] :
             {std::pair<const char*, int64_t>{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size},
              {"num_hidden_layers", c.layers}, {"num_attention_heads", c.heads},
              {"intermediate_size", c.intermediate_size}, {"max_position_embeddings", c.max_positions}})
            if (json.has(key) && value <= 0) json.problem(std::string("'").append(key).append("' must be positive"));
        if (c.heads > 0 && c.hidden_size % c.heads != 0)
            json.problem("'hidden_size' (" + std::to_string(c.hidden_size) + ") is not a multiple of 'num_attention_heads' (" +
                         std::to_string(c.heads) + ")");
        if (json.get_bool("is_decoder", false)) json.problem("'is_decoder' = true is not supported (supported: false)");
        if (json.get_bool("add_cross_attention", false))
            json.problem("'add_cross_attention' = true is not supported (supported: false)");
        return c;
    }
};

// Layer `i` under `prefix` ("encoder.layer.i."), with the attention names of the network.
struct AttentionNames {
    const char *query, *key, *value, *out, *norm;
};
constexpr AttentionNames kBertNames{"attention.self.query", "attention.self.key", "attention.self.value",
                                    "attention.output.dense", "attention.output.LayerNorm"};
constexpr AttentionNames kMpnetNames{"attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o",
                                     "attention.LayerNorm"};

std::vector<EncoderLayer> load_layers(Weights& w, const EncoderConfig& c, const AttentionNames& n) {
    std::vector<EncoderLayer> layers;
    const int64_t C = c.hidden_size, I = c.intermediate_size;
    for (int64_t i = 0; i < c.layers; ++i) {
        const std::string p = "encoder.layer." + std::to_string(i) + ".";
        layers.push_back(EncoderLayer{Linear::load(w, p + n.query, C, C), Linear::load(w, p + n.key, C, C),
                                      Linear::load(w, p + n.value, C, C), Linear::load(w, p + n.out, C, C),
                                      LayerNorm::load(w, p + n.norm, C, c.layer_norm_eps),
                                      Linear::load(w, p + "intermediate.dense", C, I),
                                      Linear::load(w, p + "output.dense", I, C),
                                      LayerNorm::load(w, p + "output.LayerNorm", C, c.layer_norm_eps), c.heads, c.act});
    }
    return layers;
}

// Checkpoints saved from a task model nest the body under "bert." / "mpnet.";
// the pooler and the position-id buffers are not used by sentence embeddings.
void prepare(Weights& w, const std::string& nested_prefix) {
    if (w.has(nested_prefix + "embeddings.word_embeddings.weight")) w.set_prefix(nested_prefix);
    w.ignore_prefix("pooler.");
    w.ignore_if_present("embeddings.position_ids");
    w.ignore_if_present("embeddings.token_type_ids");
}

void check_ids(const TokenEncoder& net, const torch::Tensor& ids, const torch::Tensor& mask) {
    if (!ids.defined() || ids.dim() != 2 || ids.scalar_type() != torch::kInt64 || ids.size(1) == 0)
        throw Error(std::string(net.name()) + ": ids must be a (batch, tokens) int64 tensor");
    if (!mask.defined() || mask.sizes() != ids.sizes())
        throw Error(std::string(net.name()) + ": the attention mask must have the shape of the ids");
    if (ids.size(1) > net.max_tokens())
        throw Error(std::string(net.name()) + ": " + std::to_string(ids.size(1)) + " tokens exceed the model's limit of " +
                    std::to_string(net.max_tokens()));
    if (ids.numel() == 0) return;
    const auto [lo, hi] = torch::aminmax(ids);
    if (lo.item<int64_t>() < 0 || hi.item<int64_t>() >= net.vocab_size())
        throw Error(std::string(net.name()) + ": token id out of range [0, " + std::to_string(net.vocab_size()) + ")");
}

class BertEncoder final : public TokenEncoder {
public:
    BertEncoder(ModelConfig& json, const std::filesystem::path& weights, torch::Device device, torch::ScalarType dtype) {
        c_ = EncoderConfig::read(json, 0);
        const int64_t type_vocab = json.get_int("type_vocab_size", 2);
        const std::string pos_type = json.get_string("position_embedding_type", "absolute");
        if (pos_type != "absolute")
            json.problem("'position_embedding_type' = '" + pos_type + "' is not supported (supported: absolute)");
        json.check();
        Weights w(weights, device, dtype);
        prepare(w, "bert.");
        word_ = w.get("embeddings.word_embeddings.weight", {c_.vocab_size, c_.hidden_size});
        position_ = w.get("embeddings.position_embeddings.weight", {c_.max_positions, c_.hidden_size});
        token_type_ = w.get("embeddings.token_type_embeddings.weight", {type_vocab, c_.hidden_size});
        norm_ = LayerNorm::load(w, "embeddings.LayerNorm", c_.hidden_size, c_.layer_norm_eps);
        layers_ = load_layers(w, c_, kBertNames);
        w.finish();
    }

    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask) const override {
        check_ids(*this, ids, mask);
        const int64_t B = ids.size(0), T = ids.size(1), C = c_.hidden_size;
        const auto positions = torch::arange(T, ids.options());                     // (T)
        // Sentence-transformers feeds token_type_ids = 0 for single sentences.
        torch::Tensor x = word_.index_select(0, ids.reshape({-1})).view({B, T, C})  // (B, T, C)
                          + token_type_[0]                                           // (C)
                          + position_.index_select(0, positions);                    // (T, C)
        x = norm_.forward(x);
        const torch::Tensor bias = padding_bias(mask, x.scalar_type());  // (B, 1, 1, T)
        for (const auto& layer : layers_) x = layer.forward(x, bias);
        return x;
    }

    int64_t hidden_size() const override { return c_.hidden_size; }
    int64_t vocab_size() const override { return c_.vocab_size; }
    int64_t pad_token_id() const override { return c_.pad_token_id; }
    int64_t max_tokens() const override { return c_.max_positions; }
    const char* name() const override { return "bert"; }

private:
    EncoderConfig c_;
    torch::Tensor word_, position_, token_type_;  // (V, C), (max_positions, C), (type_vocab, C)
    LayerNorm norm_;
    std::vector<EncoderLayer> layers_;
};

// Hugging Face MPNet numbers positions from padding_idx + 1, skipping pad tokens;
// its padding_idx is fixed at 1 whatever the config says.
constexpr int64_t kMpnetPaddingIdx = 1;
constexpr int64_t kMpnetBuckets = 32;  // the encoder buckets with 32 whatever the config says

class MpnetEncoder final : public TokenEncoder {
public:
    MpnetEncoder(ModelConfig& json, const std::filesystem::path& weights, torch::Device device, torch::ScalarType dtype) {
        c_ = EncoderConfig::read(json, kMpnetPaddingIdx);
        const int64_t buckets = json.get_int("relative_attention_num_buckets", kMpnetBuckets);
        if (buckets != kMpnetBuckets)
            json.problem("'relative_attention_num_buckets' = " + std::to_string(buckets) + " is not supported (supported: 32)");
        if (c_.pad_token_id != kMpnetPaddingIdx)
            json.problem("'pad_token_id' = " + std::to_string(c_.pad_token_id) + " is not supported (MPNet positions assume 1)");
        if (json.has("max_position_embeddings") && c_.max_positions <= kMpnetPaddingIdx + 1)
            json.problem("'max_position_embeddings' must exceed 2");
        json.check();
        Weights w(weights, device, dtype);
        prepare(w, "mpnet.");
        word_ = w.get("embeddings.word_embeddings.weight", {c_.vocab_size, c_.hidden_size});
        position_ = w.get("embeddings.position_embeddings.weight", {c_.max_positions, c_.hidden_size});
        norm_ = LayerNorm::load(w, "embeddings.LayerNorm", c_.hidden_size, c_.layer_norm_eps);
        layers_ = load_layers(w, c_, kMpnetNames);
        relative_bias_ = w.get("encoder.relative_attention_bias.weight", {kMpnetBuckets, c_.heads});
        w.finish();
    }

    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask) const override {
        check_ids(*this, ids, mask);
        const int64_t B = ids.size(0), T = ids.size(1), C = c_.hidden_size;
        const torch::Tensor not_pad = ids.ne(kMpnetPaddingIdx).to(torch::kInt64);     // (B, T)
        const torch::Tensor positions = not_pad.cumsum(1) * not_pad + kMpnetPaddingIdx;  // (B, T)
        torch::Tensor x = word_.index_select(0, ids.reshape({-1})).view({B, T, C})      // (B, T, C)
                          + position_.index_select(0, positions.reshape({-1})).view({B, T, C});
        x = norm_.forward(x);

        // One relative position bias for every layer, plus the padding bias.
        const torch::Tensor pos = torch::arange(T, ids.options());
        const torch::Tensor relative = pos.view({1, T}) - pos.view({T, 1});                  // (T, T): key - query
        const torch::Tensor buckets = mpnet_relative_position_bucket(relative, kMpnetBuckets);  // (T, T)
        const torch::Tensor position_bias =
            relative_bias_.index_select(0, buckets.reshape({-1})).view({T, T, c_.heads}).permute({2, 0, 1});  // (H, T, T)
        const torch::Tensor bias = position_bias.unsqueeze(0) + padding_bias(mask, x.scalar_type());          // (B, H, T, T)
        for (const auto& layer : layers_) x = layer.forward(x, bias);
        return x;
    }

    int64_t hidden_size() const override { return c_.hidden_size; }
    int64_t vocab_size() const override { return c_.vocab_size; }
    int64_t pad_token_id() const override { return c_.pad_token_id; }
    int64_t max_tokens() const override { return c_.max_positions - kMpnetPaddingIdx - 1; }
    const char* name() const override { return "mpnet"; }

private:
    EncoderConfig c_;
    torch::Tensor word_, position_;  // (V, C), (max_positions, C)
    LayerNorm norm_;
    std::vector<EncoderLayer> layers_;
    torch::Tensor relative_bias_;  // (32, heads)
};

}  // namespace

torch::Tensor mpnet_relative_position_bucket(const torch::Tensor& relative_position, int64_t num_buckets,
                                             int64_t max_distance) {
    // Same operations in the same order as Hugging Face, so the float32
    // logarithm rounds identically at bucket boundaries.
    torch::Tensor n = relative_position.neg();
    const int64_t half = num_buckets / 2;  // one half per direction
    torch::Tensor bucket = n.lt(0).to(torch::kInt64) * half;
    n = n.abs();
    const int64_t max_exact = half / 2;
    const torch::Tensor is_small = n.lt(max_exact);
    torch::Tensor large = max_exact + (torch::log(n.to(torch::kFloat32) / max_exact) /
                                       std::log(static_cast<double>(max_distance) / max_exact) * (half - max_exact))
                                          .to(torch::kInt64);
    large = torch::min(large, torch::full_like(large, half - 1));
    return bucket + torch::where(is_small, n, large);
}

torch::Tensor EncoderLayer::forward(const torch::Tensor& x, const torch::Tensor& bias) const {
    const torch::Tensor q = split_heads(query.forward(x), heads);  // (B, H, T, hd)
    const torch::Tensor k = split_heads(key.forward(x), heads);
    const torch::Tensor v = split_heads(value.forward(x), heads);
    // softmax(q k^T / sqrt(hd) + bias) v
    const torch::Tensor a = at::scaled_dot_product_attention(q, k, v, bias);  // (B, H, T, hd)
    const torch::Tensor h = attn_norm.forward(attn_out.forward(merge_heads(a)) + x);  // (B, T, C)
    return out_norm.forward(output.forward(activate(intermediate.forward(h), act)) + h);
}

std::unique_ptr<TokenEncoder> load_token_encoder(const std::filesystem::path& model_dir, torch::Device device,
                                                 torch::ScalarType dtype) {
    check_run_dtype(device, dtype, "text encoder '" + model_dir.string() + "'");
    ModelConfig json = ModelConfig::load(model_dir / "config.json");
    const std::string type = json.get_string("model_type");
    const auto weights = model_dir / "model.safetensors";
    if (type == "bert") return std::make_unique<BertEncoder>(json, weights, device, dtype);
    if (type == "mpnet") return std::make_unique<MpnetEncoder>(json, weights, device, dtype);
    if (!type.empty()) json.problem("'model_type' = '" + type + "' is not supported (supported: bert, mpnet)");
    json.check();
    throw Error("unsupported model config '" + json.source() + "'");  // not reached: check() throws
}

}  // namespace zgseg
