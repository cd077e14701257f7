#include "nets/clip.hpp"

#include <algorithm>
#include <numeric>

#include "zgseg/error.hpp"

namespace zgseg {

namespace fs = std::filesystem;

namespace {

// Fallbacks are transformers' CLIPTextConfig / CLIPVisionConfig defaults.
struct TowerDefaults {
    int64_t hidden, layers, heads, intermediate;
};

ClipTowerConfig read_tower(ModelConfig& cfg, const TowerDefaults& d) {
    ClipTowerConfig t;
    t.hidden_size = cfg.get_int("hidden_size", d.hidden);
    t.num_layers = cfg.get_int("num_hidden_layers", d.layers);
    t.num_heads = cfg.get_int("num_attention_heads", d.heads);
    t.intermediate_size = cfg.get_int("intermediate_size", d.intermediate);
    t.layer_norm_eps = cfg.get_double("layer_norm_eps", 1e-5);
    cfg.expect_one_of("hidden_act", {"quick_gelu", "gelu"}, "quick_gelu");
    t.act = cfg.get_string("hidden_act", "quick_gelu") == "gelu" ? MlpActivation::Gelu : MlpActivation::QuickGelu;
    if (t.hidden_size <= 0 || t.num_layers <= 0 || t.num_heads <= 0 || t.intermediate_size <= 0)
        cfg.problem("hidden_size, num_hidden_layers, num_attention_heads and intermediate_size must be positive");
    else if (t.hidden_size % t.num_heads != 0)
        cfg.problem("hidden_size " + std::to_string(t.hidden_size) + " is not a multiple of num_attention_heads " +
                    std::to_string(t.num_heads));
    if (!(t.layer_norm_eps > 0)) cfg.problem("'layer_norm_eps' must be positive");
    return t;
}

// Moves a sub-config's problems into its parent, so one error lists them all.
void collect(ModelConfig& parent, const ModelConfig& child, const std::string& name) {
    try {
        child.check();
    } catch (const Error& e) {
        // The child's message is "unsupported model config '<source>': p1; p2; ...".
        std::string rest = e.what();
        const auto colon = rest.find("': ");
        if (colon != std::string::npos) rest = rest.substr(colon + 3);
        for (size_t start = 0; start <= rest.size();) {
            const size_t end = std::min(rest.find("; ", start), rest.size());
            parent.problem(name + ": " + rest.substr(start, end - start));
            start = end + 2;
        }
    }
}

ModelConfig tower_json(ModelConfig& cfg, const std::string& name) {
    // transformers builds the tower from <name>_dict alone when it is present.
    return cfg.has(name + "_dict") ? cfg.sub(name + "_dict") : cfg.sub(name);
}

EncoderBlock load_block(Weights& w, const std::string& l, const ClipTowerConfig& t) {
    const int64_t C = t.hidden_size;
    EncoderBlock b;
    b.norm1 = LayerNorm::load(w, l + "layer_norm1", C, t.layer_norm_eps);
    b.query = Linear::load(w, l + "self_attn.q_proj", C, C);
    b.key = Linear::load(w, l + "self_attn.k_proj", C, C);
    b.value = Linear::load(w, l + "self_attn.v_proj", C, C);
    b.out = Linear::load(w, l + "self_attn.out_proj", C, C);
    b.norm2 = LayerNorm::load(w, l + "layer_norm2", C, t.layer_norm_eps);
    b.fc1 = Linear::load(w, l + "mlp.fc1", C, t.intermediate_size);
    b.fc2 = Linear::load(w, l + "mlp.fc2", t.intermediate_size, C);
    b.heads = t.num_heads;
    b.act = t.act;
    return b;
}

std::vector<EncoderBlock> load_blocks(Weights& w, const std::string& prefix, const ClipTowerConfig& t) {
    std::vector<EncoderBlock> blocks;
    for (int64_t i = 0; i < t.num_layers; ++i)
        blocks.push_back(load_block(w, prefix + "encoder.layers." + std::to_string(i) + ".", t));
    return blocks;
}

}  // namespace

ClipConfig ClipConfig::from(ModelConfig& cfg) {
    ClipConfig c;
    cfg.expect_one_of("model_type", {"clip"}, "clip");
    c.projection_dim = cfg.get_int("projection_dim", 512);
    if (c.projection_dim <= 0) cfg.problem("'projection_dim' must be positive");

    ModelConfig vision = tower_json(cfg, "vision_config");
    c.vision = read_tower(vision, {768, 12, 12, 3072});
    c.patch_size = vision.get_int("patch_size", 32);
    c.image_size = vision.get_int("image_size", 224);
    if (vision.get_int("num_channels", 3) != 3) vision.problem("'num_channels' is not supported (supported: 3)");
    if (c.patch_size <= 0 || c.image_size <= 0 || c.image_size % c.patch_size != 0)
        vision.problem("'image_size' must be a positive multiple of 'patch_size'");
    collect(cfg, vision, "vision_config");

    ModelConfig text = tower_json(cfg, "text_config");
    c.text = read_tower(text, {512, 12, 8, 2048});
    c.vocab_size = text.get_int("vocab_size", 49408);
    c.max_positions = text.get_int("max_position_embeddings", 77);
    c.eos_token_id = text.get_int("eos_token_id", 49407);
    if (c.vocab_size <= 0 || c.max_positions <= 0)
        text.problem("'vocab_size' and 'max_position_embeddings' must be positive");
    if (c.eos_token_id < 0 || c.eos_token_id >= c.vocab_size)
        text.problem("'eos_token_id' " + std::to_string(c.eos_token_id) + " is outside the vocabulary");
    collect(cfg, text, "text_config");
    cfg.check();
    return c;
}

// ---- vision tower ------------------------------------------------------------

ClipVision ClipVision::load(const fs::path& model_dir, torch::Device device, torch::ScalarType dtype) {
    check_run_dtype(device, dtype, "CLIP vision tower '" + model_dir.string() + "'");
    ModelConfig cfg = ModelConfig::load(model_dir / "config.json");
    ClipVision net;
    net.config_ = ClipConfig::from(cfg);
    net.device_ = device;
    net.dtype_ = dtype;
    const auto& t = net.config_.vision;
    const int64_t C = t.hidden_size, p = net.config_.patch_size, g = net.grid_size();

    Weights w(model_dir / "model.safetensors", device, dtype);
    w.ignore_prefix("text_model.");  // the text tower's half
    w.ignore_if_present("text_projection.weight");
    w.ignore_if_present("logit_scale");
    net.projection_ = w.get("visual_projection.weight", {net.config_.projection_dim, C});
    w.set_prefix("vision_model.");
    w.ignore_if_present("embeddings.position_ids");
    net.class_embedding_ = w.get("embeddings.class_embedding", {C});
    net.patch_weight_ = w.get("embeddings.patch_embedding.weight", {C, 3, p, p});
    net.pos_embedding_ = w.get("embeddings.position_embedding.weight", {1 + g * g, C});
    net.pre_norm_ = LayerNorm::load(w, "pre_layrnorm", C, t.layer_norm_eps);  // sic, transformers' name
    net.blocks_ = load_blocks(w, "", t);
    net.post_norm_ = LayerNorm::load(w, "post_layernorm", C, t.layer_norm_eps);
    w.finish();
    return net;
}

torch::Tensor ClipVision::embed(const torch::Tensor& image) const {
    const int64_t S = config_.image_size;
    if (image.dim() != 4 || image.size(1) != 3 || image.size(2) != S || image.size(3) != S)
        throw Error("CLIP input must be normalised RGB images shaped (B, 3, " + std::to_string(S) + ", " +
                    std::to_string(S) + "); got " + c10::str(image.sizes()));
    const int64_t B = image.size(0), C = hidden_size();
    auto patches = torch::conv2d(image.to(device_, dtype_), patch_weight_, {}, config_.patch_size);  // (B, C, g, g)
    patches = patches.flatten(2).transpose(1, 2);                                                    // (B, g², C)
    const auto cls = class_embedding_.view({1, 1, C}).expand({B, 1, C});
    auto x = torch::cat({cls, patches}, 1) + pos_embedding_;  // (B, 1 + g², C)
    return pre_norm_.forward(x);
}

torch::Tensor ClipVision::run_blocks(torch::Tensor x, int64_t begin, int64_t end) const {
    if (begin < 0 || end > num_blocks() || begin > end)
        throw Error("CLIP vision blocks [" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") are outside the tower's " + std::to_string(num_blocks()));
    const auto attention = standard_attention();
    for (int64_t i = begin; i < end; ++i) x = encoder_block(blocks_[i], x, attention);
    return x;
}

torch::Tensor ClipVision::run_block_with_attention(int64_t i, const torch::Tensor& x,
                                                   const AttentionFn& attention) const {
    if (i < 0 || i >= num_blocks())
        throw Error("CLIP vision block " + std::to_string(i) + " is outside the tower's " +
                    std::to_string(num_blocks()));
    return encoder_block(blocks_[i], x, attention);
}

torch::Tensor ClipVision::project_cls(const torch::Tensor& x) const {
    return torch::linear(post_norm_.forward(x.select(1, 0)), projection_);  // (B, projection_dim)
}

torch::Tensor ClipVision::image_embedding(const torch::Tensor& image) const {
    return project_cls(run_blocks(embed(image), 0, num_blocks()));
}

// ---- text tower --------------------------------------------------------------

ClipText ClipText::load(const fs::path& model_dir, torch::Device device, torch::ScalarType dtype) {
    check_run_dtype(device, dtype, "CLIP text tower '" + model_dir.string() + "'");
    ModelConfig cfg = ModelConfig::load(model_dir / "config.json");
    ClipText net;
    net.config_ = ClipConfig::from(cfg);
    net.device_ = device;
    net.dtype_ = dtype;
    const auto& t = net.config_.text;
    const int64_t C = t.hidden_size;

    Weights w(model_dir / "model.safetensors", device, dtype);
    w.ignore_prefix("vision_model.");  // the vision tower's half
    w.ignore_if_present("visual_projection.weight");
    w.ignore_if_present("logit_scale");
    net.projection_ = w.get("text_projection.weight", {net.config_.projection_dim, C});
    w.set_prefix("text_model.");
    w.ignore_if_present("embeddings.position_ids");
    net.token_embedding_ = w.get("embeddings.token_embedding.weight", {net.config_.vocab_size, C});
    net.pos_embedding_ = w.get("embeddings.position_embedding.weight", {net.config_.max_positions, C});
    net.blocks_ = load_blocks(w, "", t);
    net.final_norm_ = LayerNorm::load(w, "final_layer_norm", C, t.layer_norm_eps);
    w.finish();
    return net;
}

int64_t ClipText::pooling_position(const std::vector<int64_t>& ids) const {
    if (pooling() == Pooling::ArgmaxId)  // first occurrence of the largest id, like torch.argmax
        return std::max_element(ids.begin(), ids.end()) - ids.begin();
    const auto eos = std::find(ids.begin(), ids.end(), config_.eos_token_id);
    if (eos == ids.end())
        throw Error("CLIP text input has no end token (id " + std::to_string(config_.eos_token_id) +
                    "); token ids must come from the CLIP tokenizer");
    return eos - ids.begin();
}

void ClipText::check_ids(const std::vector<std::vector<int64_t>>& ids) const {
    for (size_t i = 0; i < ids.size(); ++i) {
        const auto& s = ids[i];
        if (s.empty() || static_cast<int64_t>(s.size()) > config_.max_positions)
            throw Error("CLIP text input " + std::to_string(i) + " has " + std::to_string(s.size()) +
                        " tokens; between 1 and " + std::to_string(config_.max_positions) + " are supported");
        for (int64_t id : s)
            if (id < 0 || id >= config_.vocab_size)
                throw Error("CLIP text input " + std::to_string(i) + " has token id " + std::to_string(id) +
                            " outside the vocabulary of " + std::to_string(config_.vocab_size));
    }
}

torch::Tensor ClipText::encode(const std::vector<std::vector<int64_t>>& ids) const { return encode_rows(ids, 0); }

torch::Tensor ClipText::encode_padded(const std::vector<std::vector<int64_t>>& ids, int64_t length) const {
    if (length < 1 || length > config_.max_positions)
        throw Error("CLIP text padding length " + std::to_string(length) + " is outside 1.." +
                    std::to_string(config_.max_positions));
    for (const auto& s : ids)
        if (static_cast<int64_t>(s.size()) > length)
            throw Error("CLIP text input of " + std::to_string(s.size()) + " tokens is longer than the padding length " +
                        std::to_string(length));
    return encode_rows(ids, length);
}

torch::Tensor ClipText::encode_rows(const std::vector<std::vector<int64_t>>& ids, int64_t pad_to) const {
    check_ids(ids);
    // Batches of similar lengths waste little on padding; rows go back to input order.
    std::vector<size_t> order(ids.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() < ids[b].size(); });
    auto out = torch::empty({static_cast<int64_t>(ids.size()), config_.projection_dim},
                            torch::TensorOptions().dtype(dtype_).device(device_));
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size_)) {
        const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size_));
        std::vector<const std::vector<int64_t>*> batch;
        std::vector<int64_t> rows;
        for (size_t j = start; j < end; ++j) {
            batch.push_back(&ids[order[j]]);
            rows.push_back(static_cast<int64_t>(order[j]));
        }
        out.index_copy_(0, torch::tensor(rows, torch::kLong).to(device_), encode_batch(batch, pad_to));
    }
    return out;
}

torch::Tensor ClipText::encode_batch(const std::vector<const std::vector<int64_t>*>& batch, int64_t pad_to) const {
    const int64_t B = static_cast<int64_t>(batch.size());
    int64_t L = pad_to;
    for (const auto* s : batch) L = std::max<int64_t>(L, static_cast<int64_t>(s->size()));
    auto tokens = torch::zeros({B, L}, torch::kLong);  // right padding; never seen by real tokens
    std::vector<int64_t> pool(B);
    for (int64_t b = 0; b < B; ++b) {
        const auto& s = *batch[b];
        std::copy(s.begin(), s.end(), tokens[b].data_ptr<int64_t>());
        pool[b] = pooling_position(s);
    }
    tokens = tokens.to(device_);
    auto x = torch::embedding(token_embedding_, tokens) + pos_embedding_.slice(0, 0, L);  // (B, L, C)
    const auto causal = standard_attention(AttentionKernel::Fused, /*causal=*/true);
    for (const auto& block : blocks_) x = encoder_block(block, x, causal);
    x = final_norm_.forward(x);
    const auto rows = torch::arange(B, torch::TensorOptions().dtype(torch::kLong).device(device_));
    const auto cols = torch::tensor(pool, torch::kLong).to(device_);
    return torch::linear(x.index({rows, cols}), projection_);  // (B, projection_dim)
}

ClipText::Prefixes ClipText::encode_prefixes(const std::vector<std::vector<int64_t>>& prefixes) const {
    check_ids(prefixes);
    Prefixes out;
    const int64_t N = static_cast<int64_t>(prefixes.size());
    int64_t P = 0;
    for (const auto& s : prefixes) {
        out.lengths.push_back(static_cast<int64_t>(s.size()));
        P = std::max<int64_t>(P, static_cast<int64_t>(s.size()));
    }
    auto tokens = torch::zeros({N, P}, torch::kLong);  // right padding, masked out by the suffixes
    for (int64_t n = 0; n < N; ++n) std::copy(prefixes[n].begin(), prefixes[n].end(), tokens[n].data_ptr<int64_t>());
    auto x = torch::embedding(token_embedding_, tokens.to(device_)) + pos_embedding_.slice(0, 0, P);  // (N, P, C)
    for (const auto& block : blocks_) {
        // Standard causal attention that also keeps this block's keys/values.
        x = encoder_block(block, x, [&](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                        double scale) {
            out.keys.push_back(k);    // (N, H, P, D)
            out.values.push_back(v);
            return softmax_attention(q, k, v, scale, AttentionKernel::Fused, /*causal=*/true);
        });
    }
    return out;
}

torch::Tensor ClipText::encode_suffixes(const Prefixes& prefixes, const std::vector<int64_t>& prefix_of,
                                        const std::vector<std::vector<int64_t>>& suffixes,
                                        const std::vector<int64_t>& pool) const {
    if (prefix_of.size() != suffixes.size() || pool.size() != suffixes.size())
        throw Error("CLIP text suffixes: prefix_of, suffixes and pool differ in length");
    const int64_t num_prefixes = static_cast<int64_t>(prefixes.lengths.size());
    for (size_t n = 0; n < suffixes.size(); ++n) {
        if (prefix_of[n] < 0 || prefix_of[n] >= num_prefixes)
            throw Error("CLIP text suffix " + std::to_string(n) + " names a prefix that does not exist");
        const int64_t total = prefixes.lengths[prefix_of[n]] + static_cast<int64_t>(suffixes[n].size());
        if (suffixes[n].empty() || total > config_.max_positions || pool[n] < 0 ||
            pool[n] >= static_cast<int64_t>(suffixes[n].size()))
            throw Error("CLIP text suffix " + std::to_string(n) + " is empty, too long, or pools outside itself");
    }
    check_ids(suffixes);
    const int64_t P = prefixes.keys.empty() ? 0 : prefixes.keys[0].size(2);
    const auto lengths = torch::tensor(prefixes.lengths, torch::kLong).to(device_);

    std::vector<size_t> order(suffixes.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return suffixes[a].size() < suffixes[b].size(); });
    auto out = torch::empty({static_cast<int64_t>(suffixes.size()), config_.projection_dim},
                            torch::TensorOptions().dtype(dtype_).device(device_));
    const auto opts = torch::TensorOptions().dtype(torch::kLong);
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size_)) {
        const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size_));
        const int64_t B = static_cast<int64_t>(end - start);
        const int64_t T = static_cast<int64_t>(suffixes[order[end - 1]].size());  // sorted: the longest is last
        auto tokens = torch::zeros({B, T}, opts);
        std::vector<int64_t> rows(B), source(B), cols(B);
        for (int64_t b = 0; b < B; ++b) {
            const size_t n = order[start + b];
            std::copy(suffixes[n].begin(), suffixes[n].end(), tokens[b].data_ptr<int64_t>());
            rows[b] = static_cast<int64_t>(n);
            source[b] = prefix_of[n];
            cols[b] = pool[n];
        }
        const auto src = torch::tensor(source, opts).to(device_);
        const auto row_prefix = lengths.index_select(0, src);                       // (B) P_b
        // Suffix token t of row b sits at position P_b + t.
        const auto positions = row_prefix.unsqueeze(1) + torch::arange(T, opts.device(device_));  // (B, T)
        auto x = torch::embedding(token_embedding_, tokens.to(device_)) + torch::embedding(pos_embedding_, positions);
        // May attend: the row's own prefix keys (j < P_b) and suffix keys up to itself.
        const auto prefix_ok = torch::arange(P, opts.device(device_)).view({1, 1, P}) < row_prefix.view({B, 1, 1});
        const auto suffix_ok = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(device_)).tril();
        const auto allowed = torch::cat({prefix_ok.expand({B, T, P}), suffix_ok.unsqueeze(0).expand({B, T, T})}, 2)
                                 .unsqueeze(1);                                       // (B, 1, T, P+T)
        for (size_t l = 0; l < blocks_.size(); ++l) {
            const auto pk = prefixes.keys[l].index_select(0, src);    // (B, H, P, D)
            const auto pv = prefixes.values[l].index_select(0, src);
            x = encoder_block(blocks_[l], x, [&](const torch::Tensor& q, const torch::Tensor& k,
                                                 const torch::Tensor& v, double scale) {
                return at::scaled_dot_product_attention(q, torch::cat({pk, k}, 2), torch::cat({pv, v}, 2), allowed,
                                                        /*dropout_p=*/0.0, /*is_causal=*/false, scale);
            });
        }
        x = final_norm_.forward(x);
        const auto picked = x.index({torch::arange(B, opts.device(device_)), torch::tensor(cols, opts).to(device_)});
        out.index_copy_(0, torch::tensor(rows, opts).to(device_), torch::linear(picked, projection_));
    }
    return out;
}

double ClipText::flops(int64_t tokens, int64_t keys) const {
    const auto& t = config_.text;
    const double C = static_cast<double>(t.hidden_size), I = static_cast<double>(t.intermediate_size);
    // Per token and block: q, k, v, out (4·C² MACs) and the MLP (2·C·I MACs);
    // attention: q·kᵀ and p·v, C MACs each per (token, key) pair. 2 FLOPs a MAC.
    const double per_block = 2.0 * static_cast<double>(tokens) * (4 * C * C + 2 * C * I) +
                             4.0 * C * static_cast<double>(keys);
    return per_block * static_cast<double>(t.num_layers);
}

}  // namespace zgseg
