#include "stages/captioning/vocab_captioner.hpp"

#include <fstream>

#include "core/log.hpp"
#include "core/safetensors.hpp"
#include "core/sha256.hpp"
#include "core/timing.hpp"
#include "io/atomic_file.hpp"
#include "nets/weights.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {

namespace {

constexpr int64_t kEncodeBatch = 512;  // strings per text-tower call while building the cache

}  // namespace

std::string model_fingerprint(const fs::path& model_dir) {
    Sha256 h;
    std::ifstream config(model_dir / "config.json", std::ios::binary);
    h.update(std::string((std::istreambuf_iterator<char>(config)), std::istreambuf_iterator<char>()));
    const fs::path weights = model_dir / "model.safetensors";
    std::ifstream in(weights, std::ios::binary);
    if (!in) throw Error("cannot read '" + weights.string() + "'");
    const auto size = fs::file_size(weights);
    h.update("size=" + std::to_string(size));
    const size_t sample = static_cast<size_t>(std::min<uintmax_t>(size, 1u << 20));
    std::string bytes(sample, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(sample));  // header + first weights
    h.update(bytes);
    in.seekg(static_cast<std::streamoff>(size - sample));
    in.read(bytes.data(), static_cast<std::streamsize>(sample));  // last weights
    h.update(bytes);
    return h.hex_digest();
}

VocabCaptioner::VocabCaptioner(const ClipTextEncoder& text, const std::string& fingerprint,
                               const fs::path& vocab_file, const fs::path& cache_dir, int top_k)
    : vocabulary_(read_vocabulary(vocab_file)), top_k_(top_k) {
    Sha256 vocab_hash;
    for (const auto& entry : vocabulary_) vocab_hash.update(prompted(entry) + "\n");
    const std::string vocab_key = vocab_hash.hex_digest();
    cache_file_ = cache_dir / ("vocab-" + fingerprint.substr(0, 16) + "-" + vocab_key.substr(0, 16) + ".safetensors");
    const int64_t v = static_cast<int64_t>(vocabulary_.size());

    // A valid cache: readable, the right metadata, one row per entry.
    std::error_code ec;
    if (fs::exists(cache_file_, ec)) {
        try {
            const auto file = SafetensorsFile::open(cache_file_);
            const auto* t = file.find("embeddings");
            const auto& meta = file.metadata();
            const bool fits = t && t->dtype == DType::F32 && t->shape.size() == 2 && t->shape[0] == v &&
                              meta.count("model") && meta.at("model") == fingerprint && meta.count("vocabulary") &&
                              meta.at("vocabulary") == vocab_key;
            if (fits) {
                text_embeddings_ = tensor_from_view(*t, file, torch::kCPU, torch::kFloat32).clone();
                const auto norms = text_embeddings_.norm(2, 1);
                if (!torch::isfinite(text_embeddings_).all().item<bool>() ||
                    (norms - 1).abs().max().item<float>() > 1e-3f)
                    text_embeddings_ = torch::Tensor();  // corrupt values
            }
            if (!text_embeddings_.defined())
                log::warn("vocabulary cache '" + cache_file_.string() + "' is stale or corrupt; rebuilding it");
        } catch (const Error& e) {
            log::warn(std::string("vocabulary cache unreadable (") + e.what() + "); rebuilding it");
        }
    }
    if (text_embeddings_.defined()) {
        log::debug("vocabulary embeddings from " + cache_file_.string());
        return;
    }

    const auto start = SteadyClock::now();
    log::info("computing CLIP text embeddings of " + std::to_string(v) + " vocabulary entries (once; cached in " +
              cache_dir.string() + ")");
    std::vector<torch::Tensor> parts;
    for (int64_t begin = 0; begin < v; begin += kEncodeBatch) {
        std::vector<std::string> texts;
        for (int64_t i = begin; i < std::min(v, begin + kEncodeBatch); ++i) texts.push_back(prompted(vocabulary_[i]));
        parts.push_back(text.encode(texts).to(torch::kCPU, torch::kFloat32));
    }
    text_embeddings_ = torch::cat(parts).contiguous();
    fs::create_directories(cache_dir, ec);
    try {
        write_file_atomic(cache_file_,
                          serialize_tensors({{"embeddings", text_embeddings_}},
                                            {{"model", fingerprint}, {"vocabulary", vocab_key},
                                             {"entries", std::to_string(v)}}),
                          /*overwrite=*/true);
    } catch (const Error& e) {
        log::warn(std::string("could not write the vocabulary cache: ") + e.what());
    }
    cache_was_built_ = true;
    const double seconds = seconds_since(start);
    log::info("vocabulary embeddings computed in " + std::to_string(seconds) + " s");
}

std::vector<Caption> VocabCaptioner::caption(const torch::Tensor& embeddings) {
    torch::NoGradGuard no_grad;
    const auto images = torch::nn::functional::normalize(embeddings.to(torch::kCPU, torch::kFloat32),
                                                         torch::nn::functional::NormalizeFuncOptions().dim(1));
    const auto cosines = torch::matmul(images, text_embeddings_.t());  // (N, V)
    const int64_t k = std::min<int64_t>(top_k_, text_embeddings_.size(0));
    const auto [scores, indices] = cosines.topk(k, 1);
    std::vector<Caption> captions(static_cast<size_t>(embeddings.size(0)));
    for (size_t n = 0; n < captions.size(); ++n) {
        auto& c = captions[n];
        for (int64_t j = 0; j < k; ++j) {
            const int64_t idx = indices[n][j].item<int64_t>();
            const double s = scores[n][j].item<double>();
            c.candidates.push_back({vocabulary_[idx], s, s});
        }
        c.label = c.raw = c.candidates[0].text;
        c.clip_score = c.candidates[0].clip_score;
        const auto row = text_embeddings_[indices[n][0].item<int64_t>()].contiguous();
        c.text_embedding.assign(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    }
    return captions;
}

}  // namespace zgseg
