#include "bench/context.hpp"

#include <random>
#include <system_error>

#include "core/config.hpp"
#include "core/timing.hpp"

namespace fs = std::filesystem;

namespace zgseg::bench {

TempFolder::TempFolder() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("zgseg-bench-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
}

TempFolder::~TempFolder() {
    std::error_code ec;
    fs::remove_all(path, ec);
}

template <class Net, class Load>
Net& Context::load(std::unique_ptr<Net>& slot, const std::string& name, Load&& loader) {
    if (!slot) {
        const auto start = SteadyClock::now();
        slot = std::make_unique<Net>(loader());
        load_seconds[name] = seconds_since(start);
    }
    return *slot;
}

DinoVit& Context::dino() {
    return load(dino_, kDinoFolder, [&] { return DinoVit::load(models.folder(kDinoFolder), device, torch::kFloat32); });
}

ClipVision& Context::clip_vision() {
    return load(clip_vision_, std::string(kClipFolder) + " (vision)",
                [&] { return ClipVision::load(models.folder(kClipFolder), device, torch::kFloat32); });
}

ClipTextEncoder& Context::text_encoder() {
    load(clip_text_, std::string(kClipFolder) + " (text)",
         [&] { return ClipText::load(models.folder(kClipFolder), device, torch::kFloat32); });
    if (!clip_tokenizer_)
        clip_tokenizer_ = std::make_unique<ClipTokenizer>(models.file(kClipFolder, "vocab.json"),
                                                          models.file(kClipFolder, "merges.txt"));
    if (!text_encoder_) text_encoder_ = std::make_unique<ClipTextEncoder>(*clip_text_, *clip_tokenizer_);
    return *text_encoder_;
}

ClipText& Context::clip_text() {
    text_encoder();
    return *clip_text_;
}

ClipTokenizer& Context::clip_tokenizer() {
    text_encoder();
    return *clip_tokenizer_;
}

Gpt2& Context::gpt2() {
    return load(gpt2_, kGpt2Folder, [&] { return Gpt2::load(models.folder(kGpt2Folder), device, torch::kFloat32); });
}

SentenceEncoder& Context::mpnet() {
    return load(mpnet_, kSbertFolder,
                [&] { return SentenceEncoder::load(models.folder(kSbertFolder), device, torch::kFloat32); });
}

flops::ClipVisionShape Context::clip_shape() {
    auto& c = clip_vision();
    auto config = ModelConfig::load(models.folder(kClipFolder) / "config.json");
    const auto cfg = ClipConfig::from(config);
    return {{c.hidden_size(), cfg.vision.intermediate_size, c.num_blocks(), c.patch_size()}, c.grid_size(),
            c.projection_dim()};
}

flops::TextShape Context::clip_text_shape() {
    auto config = ModelConfig::load(models.folder(kClipFolder) / "config.json");
    const auto cfg = ClipConfig::from(config);
    return {cfg.text.hidden_size, cfg.text.intermediate_size, cfg.text.num_layers, cfg.projection_dim};
}

std::vector<int64_t> Context::clip_lengths(const std::vector<std::string>& texts) {
    text_encoder();
    std::vector<int64_t> lengths;
    for (const auto& t : texts)
        lengths.push_back(static_cast<int64_t>(
            clip_tokenizer_->encode_for_text_tower(t, static_cast<size_t>(clip_text_->max_length())).ids.size()));
    return lengths;
}

}  // namespace zgseg::bench
