// zgseg inspect: one network, one input, outputs to safetensors.
#include "zgseg/inspect.hpp"

#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "io/image_loader.hpp"
#include "io/resample.hpp"
#include "nets/clip.hpp"
#include "nets/gpt2.hpp"
#include "nets/sentence_encoder.hpp"
#include "nets/vit.hpp"
#include "nets/weights.hpp"
#include "stages/candidates/candidates.hpp"
#include "stages/embedding/segment_embedder.hpp"
#include "text/clip_tokenizer.hpp"
#include "text/gpt2_tokenizer.hpp"
#include "text/wordpiece_tokenizer.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {

namespace {

std::vector<std::string> read_text_lines(const fs::path& path) {
    std::ifstream in(path);
    if (!in) throw Error("cannot read --text-jsonl file '" + path.string() + "'");
    std::vector<std::string> texts;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.empty()) continue;
        try {
            const auto j = nlohmann::json::parse(line);
            if (!j.is_string()) throw Error("not a JSON string");
            texts.push_back(j.get<std::string>());
        } catch (const std::exception& e) {
            throw Error(path.string() + " line " + std::to_string(n) + ": expected a JSON string (" + e.what() + ")");
        }
    }
    if (texts.empty()) throw Error("--text-jsonl file '" + path.string() + "' has no lines");
    return texts;
}

template <typename Ids>
std::vector<int64_t> widen(const Ids& ids) {
    return std::vector<int64_t>(ids.begin(), ids.end());
}

torch::Tensor rgb_tensor(const LoadedImage& image) {
    return torch::from_blob(image.rgb.data, {image.rgb.rows, image.rgb.cols, 3}, torch::kUInt8).clone();
}

}  // namespace

std::string run_inspect(const InspectRequest& r) {
    torch::NoGradGuard no_grad;
    const torch::Device device = r.device == "cuda" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    std::vector<std::pair<std::string, torch::Tensor>> out;
    std::string summary;
    auto add_ids = [&](const std::vector<std::vector<int64_t>>& ids) {
        for (size_t i = 0; i < ids.size(); ++i) out.push_back({"ids/" + std::to_string(i), torch::tensor(ids[i])});
    };

    if (r.network == "dino") {
        if (r.image.empty()) throw UsageError("inspect dino needs --image FILE");
        const auto image = load_image(r.image);
        const auto dino = DinoVit::load(r.model_dir, device, torch::kFloat32);
        CandidateParams params;
        params.dino_size = r.dino_size;
        params.dino_stride = r.dino_stride;
        const CandidateStage stage(dino, params);
        const auto [w, h] = shorter_side_resize(image.rgb.cols, image.rgb.rows, r.dino_size);
        const auto work = resize_like_pil(image.rgb.data, image.rgb.cols, image.rgb.rows, w, h, ResampleFilter::Lanczos);
        int rows = 0, cols = 0;
        const auto keys = stage.descriptors(work, w, h, &rows, &cols);
        out = {{"keys", keys}, {"grid", torch::tensor({rows, cols})}};
        summary = "dino keys " + std::to_string(rows) + "x" + std::to_string(cols) + " grid";
    } else if (r.network == "clip-image") {
        if (r.image.empty()) throw UsageError("inspect clip-image needs --image FILE");
        const auto image = load_image(r.image);
        const auto clip = ClipVision::load(r.model_dir, device, torch::kFloat32);
        const auto pixels = clip_preprocess(rgb_tensor(image), clip.image_size());
        out = {{"embedding", clip.image_embedding(pixels.to(device))}, {"pixels", pixels}};
        summary = "clip image embedding";
    } else if (r.network == "clip-text" || r.network == "gpt2" || r.network == "sbert") {
        if (r.text_jsonl.empty()) throw UsageError("inspect " + r.network + " needs --text-jsonl FILE");
        const auto texts = read_text_lines(r.text_jsonl);
        std::vector<std::vector<int64_t>> ids;
        if (r.network == "clip-text") {
            const auto tok = ClipTokenizer::from_folder(r.model_dir);
            const auto clip = ClipText::load(r.model_dir, device, torch::kFloat32);
            for (const auto& t : texts) ids.push_back(widen(tok.encode_for_text_tower(t, clip.max_length()).ids));
            out = {{"embeddings", clip.encode(ids)}};
        } else if (r.network == "gpt2") {
            const auto tok = Gpt2Tokenizer::from_folder(r.model_dir);
            const auto gpt2 = Gpt2::load(r.model_dir, device, torch::kFloat32);
            std::vector<torch::Tensor> rows;
            for (const auto& t : texts) {
                ids.push_back(widen(tok.encode(t)));
                if (ids.back().empty()) throw Error("inspect gpt2: a text encodes to no tokens");
                const auto input = torch::tensor(ids.back()).unsqueeze(0).to(device);
                rows.push_back(gpt2.forward(input, {}, {}, Gpt2::LogitsFor::Last).logits.reshape({1, -1}));
            }
            out = {{"logits_last", torch::cat(rows)}};
        } else {
            const auto tok = WordPieceTokenizer::from_folder(r.model_dir);
            const auto sbert = SentenceEncoder::load(r.model_dir, device, torch::kFloat32);
            for (const auto& t : texts) ids.push_back(widen(tok.encode_truncated(t)));
            out = {{"embeddings", sbert.encode(ids)}};
        }
        add_ids(ids);
        summary = r.network + " on " + std::to_string(texts.size()) + " texts";
    } else {
        throw UsageError("inspect: unknown network '" + r.network + "' (dino, clip-image, clip-text, gpt2, sbert)");
    }
    write_file_atomic(r.out, serialize_tensors(out, {{"network", r.network}, {"model_dir", r.model_dir.string()}}),
                      r.overwrite);
    return summary + " → " + r.out.string();
}

}  // namespace zgseg
