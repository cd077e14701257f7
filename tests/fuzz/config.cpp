// config.json: ModelConfig::load and every accessor kind over the keys the
// networks read (top level and CLIP's two tower sub-objects), then check().
// The networks' own range checks (VitConfig::from, ClipConfig::from,
// Gpt2Config::load, BERT/MPNet) sit in LibTorch sources and are not reached.
#include "core/config.hpp"
#include "fuzz.hpp"

using namespace zgseg;

namespace {

void read_fields(ModelConfig& c) {
    for (const char* key : {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "patch_size",
                            "image_size", "vocab_size", "n_embd", "n_layer", "n_head", "n_inner", "n_positions",
                            "max_position_embeddings", "eos_token_id", "pad_token_id", "projection_dim"}) {
        (void)c.get_int(key, 1);
        (void)c.get_double(key, 1.0);
    }
    (void)c.get_int("hidden_size");
    (void)c.get_double("layer_norm_eps", 1e-12);
    (void)c.get_string("hidden_act", "gelu");
    (void)c.get_bool("qkv_bias", true);
    (void)c.get_bool("tie_word_embeddings", true);
    c.expect_one_of("model_type", {"vit", "clip", "gpt2", "bert", "mpnet"}, "vit");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto path = fuzz::write_file("config.json", data, size);
    fuzz::expect_errors([&] {
        ModelConfig config = ModelConfig::load(path);
        read_fields(config);
        for (const char* tower : {"vision_config", "text_config"}) {
            ModelConfig sub = config.sub(tower);
            read_fields(sub);
            fuzz::expect_errors([&] { sub.check(); });
        }
        config.check();
    });
    return 0;
}
