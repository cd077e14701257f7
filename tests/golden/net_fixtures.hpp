// Helpers for the network golden tests: reading expected tensors, comparing,
// and writing altered copies of a model folder into a temporary directory.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "core/safetensors.hpp"
#include "nets/weights.hpp"
#include "golden/expect_close.hpp"
#include "zgseg/error.hpp"

namespace zgseg::testing {

namespace fs = std::filesystem;

// Every tensor of a safetensors file, on the CPU: int64 and int32 (ids) become int64,
// everything else float32 (u8 images too).
inline std::map<std::string, torch::Tensor> read_tensors(const fs::path& file) {
    const SafetensorsFile f = SafetensorsFile::open(file);
    std::map<std::string, torch::Tensor> out;
    for (const auto& view : f.tensors()) {
        const bool ids = view.dtype == DType::I64 || view.dtype == DType::I32;
        const auto dtype = ids ? torch::kInt64 : torch::kFloat32;
        out[view.name] = tensor_from_view(view, f, torch::kCPU, dtype).clone();
    }
    return out;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    EXPECT_EQ(a.sizes(), b.sizes());
    if (a.sizes() != b.sizes()) return INFINITY;
    return (a.detach().to(torch::kCPU, torch::kFloat64) - b.detach().to(torch::kCPU, torch::kFloat64)).abs().max().item<double>();
}

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("zgseg_nets_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

inline void write_text(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary).write(text.data(), static_cast<std::streamsize>(text.size()));
}

// Writes `tensors` (name -> tensor, in name order) as a safetensors file.
inline void write_tensors(const fs::path& p, const std::map<std::string, torch::Tensor>& tensors) {
    std::vector<std::pair<std::string, torch::Tensor>> list(tensors.begin(), tensors.end());
    write_text(p, serialize_tensors(list));
}

// Copies the folder `src` (recursively) into `dst`.
inline void copy_folder(const fs::path& src, const fs::path& dst) {
    fs::create_directories(dst);
    fs::copy(src, dst, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// Expects `fn` to throw zgseg::Error whose message contains every string of `needles`.
template <typename Fn>
void expect_error_listing(Fn&& fn, const std::vector<std::string>& needles) {
    try {
        fn();
        ADD_FAILURE() << "no error thrown";
    } catch (const zgseg::Error& e) {
        const std::string msg = e.what();
        std::cout << "refused with: " << msg << "\n";
        for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    }
}

}  // namespace zgseg::testing
