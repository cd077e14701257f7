#include "stages/captioning/clip_text_encoder.hpp"

#include <unordered_map>

#include "stages/captioning/captioner.hpp"

namespace zgseg {

std::string prompted(const std::string& text) { return "Image of a " + text + "."; }

torch::Tensor ClipTextEncoder::encode(const std::vector<std::string>& texts) const {
    torch::NoGradGuard no_grad;
    std::unordered_map<std::string, int64_t> unique_index;
    std::vector<std::vector<int64_t>> ids;
    std::vector<int64_t> row_of(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
        auto [it, inserted] = unique_index.emplace(texts[i], static_cast<int64_t>(ids.size()));
        if (inserted) {
            const auto tokens = tokenizer_.encode_for_text_tower(texts[i], static_cast<size_t>(tower_.max_length()));
            ids.emplace_back(tokens.ids.begin(), tokens.ids.end());
        }
        row_of[i] = it->second;
    }
    auto unique = torch::nn::functional::normalize(tower_.encode(ids),
                                                   torch::nn::functional::NormalizeFuncOptions().dim(1));
    return unique.index_select(0, torch::tensor(row_of, torch::kInt64).to(unique.device()));
}

}  // namespace zgseg
