#include "reassign/class_matcher.hpp"

#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "core/log.hpp"
#include "core/safetensors.hpp"
#include "core/sha256.hpp"
#include "io/atomic_file.hpp"
#include "nets/clip.hpp"
#include "nets/device.hpp"
#include "nets/sentence_encoder.hpp"
#include "nets/weights.hpp"
#include "stages/captioning/captioner.hpp"
#include "stages/captioning/clip_text_encoder.hpp"
#include "stages/captioning/vocab_captioner.hpp"
#include "text/clip_tokenizer.hpp"
#include "text/wordpiece_tokenizer.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::eval {

namespace {

constexpr size_t kBatch = 256;  // texts per forward while encoding

torch::Tensor normalized(const torch::Tensor& t) {
    return torch::nn::functional::normalize(t, torch::nn::functional::NormalizeFuncOptions().dim(1));
}

// The (N, D) normalised embeddings of `texts` from the cache file when it is
// valid for this model and these exact texts, else computed by `encode` and
// cached. Returns the cache file; sets `built` when it had to compute.
torch::Tensor cached_class_embeddings(const std::string& kind, const std::string& fingerprint,
                                      const std::vector<std::string>& texts, const fs::path& cache_dir,
                                      const std::function<torch::Tensor(const std::vector<std::string>&)>& encode,
                                      fs::path& cache_file, bool& built) {
    Sha256 text_hash;
    for (const auto& t : texts) text_hash.update(t + "\n");
    const std::string texts_key = text_hash.hex_digest();
    cache_file = cache_dir / ("classes-" + kind + "-" + fingerprint.substr(0, 16) + "-" + texts_key.substr(0, 16) + ".safetensors");
    const auto n = static_cast<int64_t>(texts.size());
    std::error_code ec;
    if (fs::exists(cache_file, ec)) {
        try {
            const auto file = SafetensorsFile::open(cache_file);
            const auto* t = file.find("embeddings");
            const auto& meta = file.metadata();
            const bool fits = t && t->dtype == DType::F32 && t->shape.size() == 2 && t->shape[0] == n &&
                              meta.count("model") && meta.at("model") == fingerprint && meta.count("texts") &&
                              meta.at("texts") == texts_key;
            if (fits) {
                auto e = tensor_from_view(*t, file, torch::kCPU, torch::kFloat32).clone();
                if (torch::isfinite(e).all().item<bool>() && (e.norm(2, 1) - 1).abs().max().item<float>() <= 1e-3f) {
                    log::debug("class embeddings from " + cache_file.string());
                    built = false;
                    return e;
                }
            }
            log::warn("class-embedding cache '" + cache_file.string() + "' is stale or corrupt; rebuilding it");
        } catch (const Error& e) {
            log::warn(std::string("class-embedding cache unreadable (") + e.what() + "); rebuilding it");
        }
    }
    log::info("encoding " + std::to_string(n) + " class names (" + kind + "; once, cached in " + cache_dir.string() + ")");
    std::vector<torch::Tensor> parts;
    for (size_t begin = 0; begin < texts.size(); begin += kBatch) {
        const std::vector<std::string> chunk(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                             texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), begin + kBatch)));
        parts.push_back(normalized(encode(chunk).to(torch::kCPU, torch::kFloat32)));
    }
    auto embeddings = torch::cat(parts).contiguous();
    fs::create_directories(cache_dir, ec);
    try {
        write_file_atomic(cache_file,
                          serialize_tensors({{"embeddings", embeddings}},
                                            {{"model", fingerprint}, {"texts", texts_key}, {"kind", kind},
                                             {"entries", std::to_string(n)}}),
                          /*overwrite=*/true);
    } catch (const Error& e) {
        log::warn(std::string("could not write the class-embedding cache: ") + e.what());
    }
    built = true;
    return embeddings;
}

// (N, D) · (C, D)ᵀ → best class and cosine per row.
std::vector<Match> best_classes(const torch::Tensor& items, const torch::Tensor& classes) {
    std::vector<Match> out(static_cast<size_t>(items.size(0)));
    if (items.size(0) == 0) return out;
    const auto cosines = torch::matmul(items, classes.t());  // (N, C)
    const auto [values, indices] = cosines.max(1);
    const auto v = values.contiguous(), i = indices.contiguous();
    for (size_t n = 0; n < out.size(); ++n)
        out[n] = {static_cast<int>(i[static_cast<int64_t>(n)].item<int64_t>()), v[static_cast<int64_t>(n)].item<double>()};
    return out;
}

// The folder that holds the SBERT transformer's weights (the model folder
// itself, or its 0_Transformer/ as older sentence-transformers exports have it).
fs::path sbert_weights_dir(const fs::path& dir) {
    std::error_code ec;
    if (fs::exists(dir / "model.safetensors", ec)) return dir;
    if (fs::exists(dir / "0_Transformer" / "model.safetensors", ec)) return dir / "0_Transformer";
    throw Error("Sentence-BERT folder '" + dir.string() +
                "' has no model.safetensors (download sentence-transformers/all-mpnet-base-v2 with "
                "scripts/download_models.sh, or give another folder with --sbert DIR)");
}

}  // namespace

std::string class_prompt(const std::string& name) { return prompted(name); }

// ---- TT ---------------------------------------------------------------------

struct TextMatcher::Impl {
    torch::Device device{torch::kCPU};
    std::unique_ptr<SentenceEncoder> encoder;
    std::unique_ptr<WordPieceTokenizer> tokenizer;
    torch::Tensor classes;  // (C, D) normalised, CPU
    std::unordered_map<std::string, torch::Tensor> memo;  // caption → (D) normalised, CPU
    fs::path cache_file;
    bool built = false;

    // (N, D) normalised on CPU.
    torch::Tensor encode(const std::vector<std::string>& texts) {
        std::vector<torch::Tensor> parts;
        for (size_t begin = 0; begin < texts.size(); begin += kBatch) {
            std::vector<std::vector<int64_t>> ids;
            for (size_t i = begin; i < std::min(texts.size(), begin + kBatch); ++i) {
                const auto t = tokenizer->encode_truncated(texts[i]);
                ids.emplace_back(t.begin(), t.end());
            }
            parts.push_back(normalized(encoder->encode(ids).to(torch::kCPU, torch::kFloat32)));
        }
        return parts.empty() ? torch::zeros({0, encoder->dimension()}) : torch::cat(parts);
    }

    // Embeddings of `texts`, encoding only those not seen before (sorted by
    // length, so each batch pads little).
    torch::Tensor lookup(const std::vector<std::string>& texts) {
        std::unordered_set<std::string> queued;
        std::vector<std::string> fresh;
        for (const auto& t : texts)
            if (!memo.count(t) && queued.insert(t).second) fresh.push_back(t);
        std::stable_sort(fresh.begin(), fresh.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
        if (!fresh.empty()) {
            const auto e = encode(fresh);
            for (size_t i = 0; i < fresh.size(); ++i) memo.emplace(fresh[i], e[static_cast<int64_t>(i)]);
        }
        std::vector<torch::Tensor> rows;
        for (const auto& t : texts) rows.push_back(memo.at(t));
        return rows.empty() ? torch::zeros({0, encoder->dimension()}) : torch::stack(rows);
    }
};

TextMatcher::TextMatcher(const fs::path& sbert_dir, const std::vector<std::string>& class_names, const fs::path& cache_dir,
                         const std::string& device)
    : impl_(std::make_unique<Impl>()) {
    torch::NoGradGuard no_grad;
    const fs::path weights = sbert_weights_dir(sbert_dir);
    impl_->device = device_from_flag(device);
    impl_->encoder = std::make_unique<SentenceEncoder>(SentenceEncoder::load(sbert_dir, impl_->device));
    impl_->tokenizer = std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::from_folder(sbert_dir));
    impl_->classes = cached_class_embeddings(
        "sbert", model_fingerprint(weights), class_names, cache_dir,
        [&](const std::vector<std::string>& texts) { return impl_->encode(texts); }, impl_->cache_file, impl_->built);
}

TextMatcher::~TextMatcher() = default;
TextMatcher::TextMatcher(TextMatcher&&) noexcept = default;

std::vector<Match> TextMatcher::match(const std::vector<std::string>& captions) {
    torch::NoGradGuard no_grad;
    return best_classes(impl_->lookup(captions), impl_->classes);
}

std::vector<double> TextMatcher::similarity(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    torch::NoGradGuard no_grad;
    if (a.size() != b.size()) throw Error("internal: similarity of lists of different lengths");
    const auto ea = impl_->lookup(a), eb = impl_->lookup(b);
    std::vector<double> out;
    for (int64_t i = 0; i < ea.size(0); ++i) out.push_back((ea[i] * eb[i]).sum().item<double>());
    return out;
}

bool TextMatcher::cache_was_built() const { return impl_->built; }
const fs::path& TextMatcher::cache_file() const { return impl_->cache_file; }

// ---- ST ---------------------------------------------------------------------

struct SegmentMatcher::Impl {
    torch::Tensor classes;  // (C, D) normalised, CPU
    fs::path cache_file;
    bool built = false;
};

SegmentMatcher::SegmentMatcher(const fs::path& clip_dir, const fs::path& vocab_json, const fs::path& merges_txt,
                               const std::vector<std::string>& class_names, const fs::path& cache_dir,
                               const std::string& device)
    : impl_(std::make_unique<Impl>()) {
    torch::NoGradGuard no_grad;
    std::vector<std::string> prompts;
    for (const auto& n : class_names) prompts.push_back(class_prompt(n));
    const std::string fingerprint = model_fingerprint(clip_dir);
    // The text tower is loaded only when the cache cannot serve.
    std::unique_ptr<ClipText> tower;
    std::unique_ptr<ClipTokenizer> tokenizer;
    std::unique_ptr<ClipTextEncoder> encoder;
    impl_->classes = cached_class_embeddings(
        "clip", fingerprint, prompts, cache_dir,
        [&](const std::vector<std::string>& texts) {
            if (!encoder) {
                tower = std::make_unique<ClipText>(ClipText::load(clip_dir, device_from_flag(device), torch::kFloat32));
                tokenizer = std::make_unique<ClipTokenizer>(vocab_json, merges_txt);
                encoder = std::make_unique<ClipTextEncoder>(*tower, *tokenizer);
            }
            return encoder->encode(texts);
        },
        impl_->cache_file, impl_->built);
}

SegmentMatcher::~SegmentMatcher() = default;
SegmentMatcher::SegmentMatcher(SegmentMatcher&&) noexcept = default;

std::vector<Match> SegmentMatcher::match(const std::vector<std::vector<float>>& image_embeddings) const {
    torch::NoGradGuard no_grad;
    if (image_embeddings.empty()) return {};
    const int64_t d = impl_->classes.size(1);
    auto items = torch::empty({static_cast<int64_t>(image_embeddings.size()), d});
    for (size_t i = 0; i < image_embeddings.size(); ++i) {
        if (static_cast<int64_t>(image_embeddings[i].size()) != d)
            throw Error("segment embedding has " + std::to_string(image_embeddings[i].size()) +
                        " values but the CLIP model's text embeddings have " + std::to_string(d) +
                        " (were the predictions made with another CLIP model? see --models)");
        items[static_cast<int64_t>(i)] = torch::from_blob(const_cast<float*>(image_embeddings[i].data()), {d}, torch::kFloat32);
    }
    return best_classes(normalized(items), impl_->classes);
}

bool SegmentMatcher::cache_was_built() const { return impl_->built; }
const fs::path& SegmentMatcher::cache_file() const { return impl_->cache_file; }

}  // namespace zgseg::eval
