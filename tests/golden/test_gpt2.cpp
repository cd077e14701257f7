// GPT-2 against Hugging Face transformers (GPT2LMHeadModel) on a tiny random
// model made from gpt2-medium's config (scripts/fixtures/nets_text.py):
// logits and presents with and without a past, with a padding mask, and the
// gradients with respect to the past keys/values of a cross-entropy on the
// last logits (what ZeroCap optimises). Tolerances from float32 rounding (tests/tolerance.hpp).
// Also: the hub checkpoint layout, and refusal of bad checkpoints and configs.
#include <nlohmann/json.hpp>

#include "golden/net_fixtures.hpp"
#include "nets/gpt2.hpp"

namespace fs = std::filesystem;
using namespace zgseg;
using namespace zgseg::testing;

namespace {

const fs::path kModel = fs::path(ZGSEG_TEST_DATA) / "nets" / "gpt2_tiny";
const fs::path kExpected = fs::path(ZGSEG_TEST_DATA) / "nets" / "gpt2_tiny_expected.safetensors";
// The tiny GPT-2: 2 blocks, 128-wide MLP, at most 64 positions (tests/tolerance.hpp).
Tolerance forward_tolerance(const torch::Tensor& want) {
    return float32_transformer(2, 128, magnitude(want), "2 blocks, 128-wide MLP, float32");
}
// A gradient runs the forward chain and then the backward chain through it.
Tolerance gradient_tolerance(const torch::Tensor& want) {
    return float32_transformer(4, 128, magnitude(want), "forward + backward through 2 blocks, float32");
}

class Gpt2Golden : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        torch::manual_seed(0);
        expected_ = new std::map<std::string, torch::Tensor>(read_tensors(kExpected));
        net_ = new Gpt2(Gpt2::load(kModel, torch::kCPU));
    }
    static void TearDownTestSuite() {
        delete net_;
        delete expected_;
    }
    static const torch::Tensor& E(const std::string& name) {
        auto it = expected_->find(name);
        if (it == expected_->end()) throw std::runtime_error("fixture lacks " + name);
        return it->second;
    }
    // The fixture's perturbed past; leaves that record gradients when `grad`.
    static PastKeyValues past(bool grad) {
        PastKeyValues p;
        for (int64_t i = 0; i < net_->config().n_layer; ++i) {
            const std::string l = std::to_string(i);
            p.push_back({E("past." + l + ".key").clone().requires_grad_(grad), E("past." + l + ".value").clone().requires_grad_(grad)});
        }
        return p;
    }
    static void expect_presents_close(const Gpt2Output& out, const std::string& prefix) {
        for (size_t i = 0; i < out.presents.size(); ++i)
            for (const char* kv : {"key", "value"}) {
                const std::string name = prefix + std::to_string(i) + "." + kv;
                const auto& want = E(name);
                expect_close(name, kv[0] == 'k' ? out.presents[i].key : out.presents[i].value, want,
                             forward_tolerance(want));
            }
    }
    static inline Gpt2* net_ = nullptr;
    static inline std::map<std::string, torch::Tensor>* expected_ = nullptr;
};

TEST_F(Gpt2Golden, LogitsAndPresentsWithoutPast) {
    torch::NoGradGuard no_grad;
    const auto out = net_->forward(torch::cat({E("ids_ctx"), E("ids_new")}, 1));
    expect_close("logits", out.logits, E("logits_nopast"), forward_tolerance(E("logits_nopast")));
    expect_presents_close(out, "presents_nopast.");
}

TEST_F(Gpt2Golden, LogitsAndPresentsWithPerturbedPast) {
    torch::NoGradGuard no_grad;
    const auto out = net_->forward(E("ids_new"), past(false));
    expect_close("logits", out.logits, E("logits_past"), forward_tolerance(E("logits_past")));
    expect_presents_close(out, "presents_past.");
}

TEST_F(Gpt2Golden, GradientsWithRespectToPastMatchAutograd) {
    PastKeyValues p = past(true);
    const auto out = net_->forward(E("ids_new"), p);
    const torch::Tensor last = out.logits.select(1, out.logits.size(1) - 1);  // (B, vocab)
    // Cross-entropy against a fixed target distribution, as ZeroCap's CLIP loss.
    (-(E("loss_target") * torch::log_softmax(last, -1)).sum()).backward();
    for (size_t i = 0; i < p.size(); ++i) {
        const std::string l = std::to_string(i);
        ASSERT_TRUE(p[i].key.grad().defined() && p[i].value.grad().defined());
        for (const auto& [got, name] : {std::pair{p[i].key.grad(), "grad." + l + ".key"},
                                        std::pair{p[i].value.grad(), "grad." + l + ".value"}})
            expect_close(name, got, E(name), gradient_tolerance(E(name)));
    }
}

TEST_F(Gpt2Golden, AttentionMaskInsidePast) {
    torch::NoGradGuard no_grad;
    const auto out = net_->forward(E("ids_new"), past(false), E("attention_mask"));
    expect_close("masked logits", out.logits, E("logits_masked"), forward_tolerance(E("logits_masked")));
    // The mask must matter, or this test would not test it.
    EXPECT_GT(max_abs_diff(out.logits, E("logits_past")), 1e-2);
}

TEST_F(Gpt2Golden, IncrementalDecodingMatchesOnePass) {
    torch::NoGradGuard no_grad;
    const auto ctx = net_->forward(E("ids_ctx"));
    const auto out = net_->forward(E("ids_new"), ctx.presents);
    const int64_t P = E("ids_ctx").size(1);
    const auto want = E("logits_nopast").slice(1, P);
    expect_close("incremental vs reference one pass", out.logits, want, forward_tolerance(want));
    const auto last = net_->forward(E("ids_new"), ctx.presents, {}, Gpt2::LogitsFor::Last);
    EXPECT_EQ(last.logits.size(1), 1);
    expect_close("last-position logits", last.logits.squeeze(1), out.logits.select(1, -1), forward_tolerance(want));
}

TEST_F(Gpt2Golden, RejectsBadInputs) {
    const auto ids = E("ids_new");
    EXPECT_THROW(net_->forward(ids.clone().fill_(1000)), Error);                     // id outside the vocabulary
    EXPECT_THROW(net_->forward(ids.to(torch::kInt32)), Error);                       // wrong dtype
    EXPECT_THROW(net_->forward(torch::zeros({1, 65}, torch::kInt64)), Error);        // beyond n_positions
    PastKeyValues p = past(false);
    p.pop_back();
    EXPECT_THROW(net_->forward(ids, p), Error);                                      // a layer missing
    EXPECT_THROW(net_->forward(ids.slice(0, 0, 2), past(false)), Error);             // batch mismatch
    EXPECT_THROW(net_->forward(ids, past(false), torch::ones({3, 4}, torch::kInt64)), Error);  // mask too short
    EXPECT_THROW(Gpt2::load(kModel, torch::kCPU, torch::kFloat16), Error);           // half precision is for CUDA
}

// The hub checkpoint has no "transformer." prefix and carries the attention
// buffers of old transformers versions; save_pretrained may add lm_head.weight.
TEST(Gpt2Loader, AcceptsHubLayoutWithBuffersAndTiedHead) {
    TempDir hub, saved;
    auto tensors = read_tensors(kModel / "model.safetensors");
    std::map<std::string, torch::Tensor> stripped, with_head = tensors;
    for (const auto& [name, t] : tensors) stripped[name.substr(std::string("transformer.").size())] = t;
    for (int i = 0; i < 2; ++i) {
        stripped["h." + std::to_string(i) + ".attn.bias"] = torch::ones({1, 1, 64, 64}).tril();
        stripped["h." + std::to_string(i) + ".attn.masked_bias"] = torch::tensor(-1e4f);
    }
    with_head["lm_head.weight"] = tensors.at("transformer.wte.weight");
    for (const auto& [dir, t] : {std::pair{&hub, &stripped}, std::pair{&saved, &with_head}}) {
        fs::copy_file(kModel / "config.json", dir->path / "config.json");
        write_tensors(dir->path / "model.safetensors", *t);
    }
    const auto expected = read_tensors(kExpected);
    const auto ids = torch::cat({expected.at("ids_ctx"), expected.at("ids_new")}, 1);
    torch::NoGradGuard no_grad;
    for (const auto& [dir, layout] : {std::pair{hub.path, "hub"}, std::pair{saved.path, "save_pretrained"}}) {
        const auto& want = expected.at("logits_nopast");
        expect_close(std::string("logits, ") + layout + " layout", Gpt2::load(dir, torch::kCPU).forward(ids).logits,
                     want, forward_tolerance(want));
    }
}

TEST(Gpt2Loader, RefusesCheckpointListingEveryProblem) {
    TempDir dir;
    auto tensors = read_tensors(kModel / "model.safetensors");
    tensors.erase("transformer.h.1.mlp.c_fc.bias");                        // missing
    tensors["transformer.h.0.attn.rotary"] = torch::zeros({4});            // unexpected
    tensors["transformer.h.0.ln_1.weight"] = torch::zeros({33});           // mis-shaped
    fs::copy_file(kModel / "config.json", dir.path / "config.json");
    write_tensors(dir.path / "model.safetensors", tensors);
    expect_error_listing([&] { Gpt2::load(dir.path, torch::kCPU); },
                         {"missing transformer.h.1.mlp.c_fc.bias", "unexpected transformer.h.0.attn.rotary",
                          "mis-shaped transformer.h.0.ln_1.weight", "3 problems", dir.path.string()});
}

TEST(Gpt2Loader, RefusesConfigListingEveryUnsupportedValue) {
    TempDir dir;
    auto json = nlohmann::json::parse(std::ifstream(kModel / "config.json"));
    json["activation_function"] = "relu";
    json["scale_attn_by_inverse_layer_idx"] = true;
    json["n_embd"] = 30;  // not a multiple of 4 heads
    json.erase("vocab_size");
    write_text(dir.path / "config.json", json.dump());
    fs::copy_file(kModel / "model.safetensors", dir.path / "model.safetensors");
    expect_error_listing([&] { Gpt2::load(dir.path, torch::kCPU); },
                         {"'activation_function' = 'relu'", "scale_attn_by_inverse_layer_idx", "'n_embd' (30)",
                          "'vocab_size' is missing", "config.json"});
}

}  // namespace
