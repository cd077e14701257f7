#include "reassign/query_encoder.hpp"

#include "nets/clip.hpp"
#include "nets/device.hpp"
#include "reassign/class_matcher.hpp"
#include "stages/captioning/clip_text_encoder.hpp"
#include "text/clip_tokenizer.hpp"

namespace zgseg {

std::vector<float> clip_query_embedding(const std::filesystem::path& clip_dir, const std::filesystem::path& vocab_json,
                                        const std::filesystem::path& merges_txt, const std::string& query,
                                        const std::string& device) {
    torch::NoGradGuard no_grad;
    // Only the text half of model.safetensors is loaded.
    const auto tower = ClipText::load(clip_dir, device_from_flag(device), torch::kFloat32);
    const ClipTokenizer tokenizer(vocab_json, merges_txt);
    const ClipTextEncoder encoder(tower, tokenizer);
    const auto e = encoder.encode({eval::class_prompt(query)}).to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(e.data_ptr<float>(), e.data_ptr<float>() + e.numel());
}

}  // namespace zgseg
