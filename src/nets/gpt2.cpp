#include "nets/gpt2.hpp"

#include <limits>

#include "core/config.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

namespace {

std::string sizes_str(const torch::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
}

}  // namespace

Gpt2Config Gpt2Config::load(const std::filesystem::path& config_json) {
    ModelConfig json = ModelConfig::load(config_json);
    Gpt2Config c;
    if (json.get_string("model_type", "gpt2") != "gpt2")
        json.problem("'model_type' = '" + json.get_string("model_type") + "' is not supported (supported: gpt2)");
    c.vocab_size = json.get_int("vocab_size");
    c.n_positions = json.get_int("n_positions");
    c.n_embd = json.get_int("n_embd");
    c.n_layer = json.get_int("n_layer");
    c.n_head = json.get_int("n_head");
    // transformers' default 4·n_embd; an absurd n_embd (refused below or by the
    // weights' shapes) must not overflow it first (signed overflow is undefined).
    constexpr int64_t kMaxQuarter = std::numeric_limits<int64_t>::max() / 4;
    c.n_inner = json.get_int("n_inner", c.n_embd > -kMaxQuarter && c.n_embd < kMaxQuarter ? 4 * c.n_embd : c.n_embd);
    c.layer_norm_epsilon = json.get_double("layer_norm_epsilon", 1e-5);
    const std::string act = json.get_string("activation_function", "gelu_new");
    if (!parse_activation(act, c.activation))
        json.problem("'activation_function' = '" + act + "' is not supported (supported: gelu_new, gelu_pytorch_tanh, gelu)");
    if (!json.get_bool("scale_attn_weights", true))
        json.problem("'scale_attn_weights' = false is not supported (supported: true)");
    if (json.get_bool("scale_attn_by_inverse_layer_idx", false))
        json.problem("'scale_attn_by_inverse_layer_idx' = true is not supported (supported: false)");
    if (json.get_bool("add_cross_attention", false))
        json.problem("'add_cross_attention' = true is not supported (supported: false)");
    if (!json.get_bool("tie_word_embeddings", true))
        json.problem("'tie_word_embeddings' = false is not supported (the LM head must be tied to wte)");
    for (const auto& [key, value] : {std::pair<const char*, int64_t>{"vocab_size", c.vocab_size},
                                     {"n_positions", c.n_positions}, {"n_embd", c.n_embd},
                                     {"n_layer", c.n_layer}, {"n_head", c.n_head}, {"n_inner", c.n_inner}})
        if (json.has(key) && value <= 0) json.problem(std::string("'").append(key).append("' must be positive"));
    if (c.n_head > 0 && c.n_embd % c.n_head != 0)
        json.problem("'n_embd' (" + std::to_string(c.n_embd) + ") is not a multiple of 'n_head' (" +
                     std::to_string(c.n_head) + ")");
    json.check();
    return c;
}

Gpt2 Gpt2::load(const std::filesystem::path& model_dir, torch::Device device, torch::ScalarType dtype) {
    check_run_dtype(device, dtype, "GPT-2 '" + model_dir.string() + "'");
    Gpt2 net;
    net.config_ = Gpt2Config::load(model_dir / "config.json");
    const Gpt2Config& c = net.config_;
    Weights w(model_dir / "model.safetensors", device, dtype);
    // save_pretrained(GPT2LMHeadModel) nests the body under "transformer." and
    // may write the tied head; the hub checkpoint has neither.
    if (w.has("transformer.wte.weight")) {
        w.ignore_if_present("lm_head.weight");  // tied to wte, as Hugging Face ties it
        w.set_prefix("transformer.");
    }
    net.wte_ = w.get("wte.weight", {c.vocab_size, c.n_embd});
    net.wpe_ = w.get("wpe.weight", {c.n_positions, c.n_embd});
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "h." + std::to_string(i) + ".";
        const double eps = c.layer_norm_epsilon;
        net.blocks_.push_back(Block{LayerNorm::load(w, p + "ln_1", c.n_embd, eps),
                                    Conv1D::load(w, p + "attn.c_attn", c.n_embd, 3 * c.n_embd),
                                    Conv1D::load(w, p + "attn.c_proj", c.n_embd, c.n_embd),
                                    LayerNorm::load(w, p + "ln_2", c.n_embd, eps),
                                    Conv1D::load(w, p + "mlp.c_fc", c.n_embd, c.n_inner),
                                    Conv1D::load(w, p + "mlp.c_proj", c.n_inner, c.n_embd)});
        // Causal-mask buffers of old checkpoints; the mask is built per call here.
        w.ignore_if_present(p + "attn.bias");
        w.ignore_if_present(p + "attn.masked_bias");
    }
    net.ln_f_ = LayerNorm::load(w, "ln_f", c.n_embd, c.layer_norm_epsilon);
    w.finish();
    return net;
}

void Gpt2::check_inputs(const torch::Tensor& ids, const PastKeyValues& past, const torch::Tensor& mask) const {
    const Gpt2Config& c = config_;
    if (!ids.defined() || ids.dim() != 2 || ids.size(0) == 0 || ids.size(1) == 0 || ids.scalar_type() != torch::kInt64)
        throw Error("GPT-2: input_ids must be a non-empty (batch, tokens) int64 tensor, got " +
                    (ids.defined() ? sizes_str(ids) : std::string("an undefined tensor")));
    if (ids.device() != device()) throw Error("GPT-2: input_ids are on " + ids.device().str() + ", the model on " + device().str());
    const auto [lo, hi] = torch::aminmax(ids);
    if (lo.item<int64_t>() < 0 || hi.item<int64_t>() >= c.vocab_size)
        throw Error("GPT-2: token id out of range [0, " + std::to_string(c.vocab_size) + ")");
    const int64_t B = ids.size(0), T = ids.size(1);
    int64_t P = 0;
    if (!past.empty()) {
        if (static_cast<int64_t>(past.size()) != c.n_layer)
            throw Error("GPT-2: past has " + std::to_string(past.size()) + " layers, the model " + std::to_string(c.n_layer));
        P = past[0].key.size(2);
        for (const KeyValue& kv : past)
            for (const torch::Tensor& t : {kv.key, kv.value})
                if (!t.defined() || t.dim() != 4 || t.size(0) != B || t.size(1) != c.n_head || t.size(2) != P ||
                    t.size(3) != c.head_dim() || t.scalar_type() != dtype() || t.device() != device())
                    throw Error("GPT-2: every past key/value must be (" + std::to_string(B) + ", " +
                                std::to_string(c.n_head) + ", " + std::to_string(P) + ", " +
                                std::to_string(c.head_dim()) + ") in the model's dtype and device, got " +
                                (t.defined() ? sizes_str(t) : std::string("an undefined tensor")));
    }
    if (P + T > c.n_positions)
        throw Error("GPT-2: " + std::to_string(P + T) + " positions exceed the model's n_positions " +
                    std::to_string(c.n_positions));
    if (mask.defined() && (mask.dim() != 2 || mask.size(0) != B || mask.size(1) != P + T || mask.device() != device()))
        throw Error("GPT-2: attention_mask must be (" + std::to_string(B) + ", " + std::to_string(P + T) +
                    ") on the model's device, got " + sizes_str(mask));
}

Gpt2Output Gpt2::forward(const torch::Tensor& input_ids, const PastKeyValues& past,
                         const torch::Tensor& attention_mask, LogitsFor logits_for) const {
    check_inputs(input_ids, past, attention_mask);
    const int64_t B = input_ids.size(0), T = input_ids.size(1);
    const int64_t P = past.empty() ? 0 : past[0].key.size(2);
    const auto long_opts = torch::TensorOptions().dtype(torch::kInt64).device(device());

    // Token + position embeddings; positions continue after the past.
    const torch::Tensor positions = torch::arange(P, P + T, long_opts);                      // (T)
    torch::Tensor x = wte_.index_select(0, input_ids.reshape({-1})).view({B, T, config_.n_embd})  // (B, T, C)
                      + wpe_.index_select(0, positions);                                     // (T, C)

    // Query t (absolute position P+t) may see keys 0..P+t, and only unmasked ones.
    torch::Tensor allowed = torch::ones({T, P + T}, long_opts.dtype(torch::kBool)).tril(P).view({1, 1, T, P + T});
    if (attention_mask.defined()) allowed = allowed & attention_mask.ne(0).view({B, 1, 1, P + T});
    const torch::Tensor bias = attention_bias(allowed, dtype());  // (1 or B, 1, T, P+T)

    Gpt2Output out;
    out.presents.resize(config_.n_layer);
    for (int64_t i = 0; i < config_.n_layer; ++i)
        x = block_forward(blocks_[i], x, past.empty() ? nullptr : &past[i], bias, out.presents[i]);

    torch::Tensor h = ln_f_.forward(x);                                // (B, T, C)
    if (logits_for == LogitsFor::Last) h = h.slice(1, T - 1, T);       // (B, 1, C)
    out.logits = torch::linear(h, wte_);                               // (B, T or 1, vocab)
    return out;
}

torch::Tensor Gpt2::block_forward(const Block& b, const torch::Tensor& x, const KeyValue* past,
                                  const torch::Tensor& attn_mask, KeyValue& present) const {
    const int64_t heads = config_.n_head;
    const auto qkv = b.c_attn.forward(b.ln_1.forward(x)).split(config_.n_embd, -1);  // 3 x (B, T, C)
    const torch::Tensor q = split_heads(qkv[0], heads);                               // (B, H, T, hd)
    torch::Tensor k = split_heads(qkv[1], heads);
    torch::Tensor v = split_heads(qkv[2], heads);
    if (past) {
        k = torch::cat({past->key, k}, 2);    // (B, H, P+T, hd)
        v = torch::cat({past->value, v}, 2);
    }
    present = {k, v};
    // softmax(q k^T / sqrt(hd) + mask) v
    const torch::Tensor a = at::scaled_dot_product_attention(q, k, v, attn_mask);  // (B, H, T, hd)
    torch::Tensor h = x + b.attn_c_proj.forward(merge_heads(a));                     // (B, T, C)
    return h + b.mlp_c_proj.forward(activate(b.c_fc.forward(b.ln_2.forward(h)), config_.activation));
}

}  // namespace zgseg
