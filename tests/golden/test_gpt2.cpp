// GPT-2 against Hugging Face transformers (GPT2LMHeadModel) on a tiny random
// model made from gpt2-medium's config (scripts/fixtures/nets_text.py):
// logits and presents with and without a past, with a padding mask, and the
// gradients with respect to the past keys/values of a cross-entropy on the
// last logits (what ZeroCap optimises). Tolerance: 1e-5 absolute, float32 on the CPU.
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
constexpr double kTolerance = 1e-5;

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
    static double presents_diff(const Gpt2Output& out, const std::string& prefix) {
        double d = 0;
        for (size_t i = 0; i < out.presents.size(); ++i) {
            d = std::max(d, max_abs_diff(out.presents[i].key, E(prefix + std::to_string(i) + ".key")));
            d = std::max(d, max_abs_diff(out.presents[i].value, E(prefix + std::to_string(i) + ".value")));
        }
        return d;
    }
    static inline Gpt2* net_ = nullptr;
    static inline std::map<std::string, torch::Tensor>* expected_ = nullptr;
};

TEST_F(Gpt2Golden, LogitsAndPresentsWithoutPast) {
    torch::NoGradGuard no_grad;
    const auto out = net_->forward(torch::cat({E("ids_ctx"), E("ids_new")}, 1));
    const double d_logits = max_abs_diff(out.logits, E("logits_nopast"));
    const double d_presents = presents_diff(out, "presents_nopast.");
    std::cout << "max abs diff: logits " << d_logits << ", presents " << d_presents << " (tolerance " << kTolerance << ")\n";
    EXPECT_LE(d_logits, kTolerance);
    EXPECT_LE(d_presents, kTolerance);
}

TEST_F(Gpt2Golden, LogitsAndPresentsWithPerturbedPast) {
    torch::NoGradGuard no_grad;
    const auto out = net_->forward(E("ids_new"), past(false));
    const double d_logits = max_abs_diff(out.logits, E("logits_past"));
    const double d_presents = presents_diff(out, "presents_past.");
    std::cout << "max abs diff: logits " << d_logits << ", presents " << d_presents << " (tolerance " << kTolerance << ")\n";
    EXPECT_LE(d_logits, kTolerance);
    EXPECT_LE(d_presents, kTolerance);
}

TEST_F(Gpt2Golden, GradientsWithRespectToPastMatchAutograd) {
    PastKeyValues p = past(true);
    const auto out = net_->forward(E("ids_new"), p);
    const torch::Tensor last = out.logits.select(1, out.logits.size(1) - 1);  // (B, vocab)
    // Cross-entropy against a fixed target distribution, as ZeroCap's CLIP loss.
    (-(E("loss_target") * torch::log_softmax(last, -1)).sum()).backward();
    double d = 0, scale = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        const std::string l = std::to_string(i);
        ASSERT_TRUE(p[i].key.grad().defined() && p[i].value.grad().defined());
        d = std::max({d, max_abs_diff(p[i].key.grad(), E("grad." + l + ".key")),
                      max_abs_diff(p[i].value.grad(), E("grad." + l + ".value"))});
        scale = std::max(scale, E("grad." + l + ".key").abs().max().item<double>());
    }
    std::cout << "max abs diff of past gradients " << d << " (largest gradient " << scale << ", tolerance "
              << kTolerance << ")\n";
    EXPECT_LE(d, kTolerance);
}

TEST_F(Gpt2Golden, AttentionMaskInsidePast) {
    torch::NoGradGuard no_grad;
    const auto out = net_->forward(E("ids_new"), past(false), E("attention_mask"));
    const double d = max_abs_diff(out.logits, E("logits_masked"));
    std::cout << "max abs diff of masked logits " << d << " (tolerance " << kTolerance << ")\n";
    EXPECT_LE(d, kTolerance);
    // The mask must matter, or this test would not test it.
    EXPECT_GT(max_abs_diff(out.logits, E("logits_past")), 1e-2);
}

TEST_F(Gpt2Golden, IncrementalDecodingMatchesOnePass) {
    torch::NoGradGuard no_grad;
    const auto ctx = net_->forward(E("ids_ctx"));
    const auto out = net_->forward(E("ids_new"), ctx.presents);
    const int64_t P = E("ids_ctx").size(1);
    const double d = max_abs_diff(out.logits, E("logits_nopast").slice(1, P));
    std::cout << "max abs diff, incremental vs reference one pass " << d << "\n";
    EXPECT_LE(d, kTolerance);
    const auto last = net_->forward(E("ids_new"), ctx.presents, {}, Gpt2::LogitsFor::Last);
    EXPECT_EQ(last.logits.size(1), 1);
    EXPECT_LE(max_abs_diff(last.logits.squeeze(1), out.logits.select(1, -1)), kTolerance);
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
    for (const fs::path& dir : {hub.path, saved.path}) {
        const double d = max_abs_diff(Gpt2::load(dir, torch::kCPU).forward(ids).logits, expected.at("logits_nopast"));
        std::cout << "max abs diff (" << dir.filename() << ") " << d << "\n";
        EXPECT_LE(d, kTolerance);
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
