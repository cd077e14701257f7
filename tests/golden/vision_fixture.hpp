// Helpers for the network golden tests: fixture tensors, test images, temporary
// model folders built from the committed ones with edits.
#pragma once

#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/safetensors.hpp"
#include "nets/weights.hpp"

namespace zgseg::testing {

namespace fs = std::filesystem;

inline const fs::path kNetsData = fs::path(ZGSEG_TEST_DATA) / "nets";

struct TempDir {
    fs::path path;
    TempDir() {
        static int counter = 0;
        path = fs::temp_directory_path() /
               ("zgseg_nets_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

// Every tensor of a safetensors file as fp32 (or int64 for integer tensors) on the CPU.
inline std::map<std::string, torch::Tensor> read_tensors(const fs::path& file) {
    const auto st = SafetensorsFile::open(file);
    std::map<std::string, torch::Tensor> out;
    for (const auto& v : st.tensors()) {
        const bool integer = v.dtype == DType::I64 || v.dtype == DType::I32 || v.dtype == DType::U8;
        out[v.name] = tensor_from_view(v, st, torch::kCPU, integer ? torch::kLong : torch::kFloat32).clone();
    }
    return out;
}

// uint8 (1, 3, H, W) → x/255, minus mean, over std (the fixture script's exact ops).
inline torch::Tensor normalise(const torch::Tensor& u8, const std::array<double, 3>& mean,
                               const std::array<double, 3>& stdev) {
    const auto x = u8.to(torch::kFloat32).div(255.0);
    const auto m = torch::tensor({mean[0], mean[1], mean[2]}, torch::kFloat32).view({1, 3, 1, 1});
    const auto s = torch::tensor({stdev[0], stdev[1], stdev[2]}, torch::kFloat32).view({1, 3, 1, 1});
    return (x - m) / s;
}

inline torch::Tensor upscale(const torch::Tensor& x, int64_t k) {
    return x.repeat_interleave(k, 2).repeat_interleave(k, 3);
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kCPU, torch::kFloat64) - b.to(torch::kCPU, torch::kFloat64)).abs().max().item<double>();
}

inline void write_file(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline nlohmann::json read_json(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

// A copy of model folder `from` in `to`, with its tensors (as fp32 named
// tensors) and config passed through `edit_tensors` / `edit_config`.
using TensorList = std::vector<std::pair<std::string, torch::Tensor>>;
inline void copy_model(const fs::path& from, const fs::path& to,
                       const std::function<void(TensorList&)>& edit_tensors = {},
                       const std::function<void(nlohmann::json&)>& edit_config = {}) {
    TensorList tensors;
    for (const auto& [name, t] : read_tensors(from / "model.safetensors")) tensors.emplace_back(name, t);
    if (edit_tensors) edit_tensors(tensors);
    write_file(to / "model.safetensors", serialize_tensors(tensors));
    auto config = read_json(from / "config.json");
    if (edit_config) edit_config(config);
    std::ofstream(to / "config.json") << config.dump(2);
}

}  // namespace zgseg::testing
