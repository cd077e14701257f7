// JSON from files a user gives: nlohmann::json::parse with a nesting limit.
// No file zgseg reads (config.json, safetensors headers, tokenizer files,
// predictions, summaries) nests more than a few levels; a hostile 4 MB file
// nested two million levels deep would otherwise cost seconds and hundreds of
// MB to build and destroy. Too deep is reported as a nlohmann::json exception,
// so each caller's "not valid JSON" message names the file.
#pragma once

#include <nlohmann/json.hpp>
#include <utility>

namespace zgseg {

constexpr int kMaxJsonDepth = 64;

template <typename... Input>
nlohmann::json parse_bounded_json(Input&&... input) {
    const nlohmann::json::parser_callback_t limit = [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth >= kMaxJsonDepth)  // depth counts from 0 at the outermost value
            throw nlohmann::json::out_of_range::create(406, "nested more than 64 levels deep", nullptr);
        return true;
    };
    return nlohmann::json::parse(std::forward<Input>(input)..., limit);
}

}  // namespace zgseg
