// Loading a network's parameters from a Hugging Face model.safetensors by name.
//
// A network asks for every tensor it needs with its expected shape; the loader
// converts it to the run's dtype and device. Problems are collected, not thrown
// one at a time: finish() refuses the checkpoint with every missing, mis-shaped
// and unexpected tensor listed by name and shape, so the network never runs
// with a parameter it did not load (whisper.cpp's loader style).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/safetensors.hpp"

namespace zgseg {

class Weights {
public:
    Weights(const std::filesystem::path& file, torch::Device device, torch::ScalarType dtype);

    // The tensor `prefix + name`, checked against `shape`, as (dtype, device).
    // Missing or mis-shaped: recorded, and an uninitialised tensor of the
    // right shape is returned so construction can go on to find more problems.
    torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape);
    bool has(const std::string& name) const;
    // Marks tensors the network knowingly does not use (buffers such as
    // "position_ids", or a pooler head), so they are not reported as unexpected.
    void ignore_if_present(const std::string& name);
    void ignore_prefix(const std::string& prefix);

    // Prepended to every name (e.g. "vit." or "text_model.").
    void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }
    const std::string& prefix() const { return prefix_; }
    const std::filesystem::path& path() const { return file_.path(); }
    torch::Device device() const { return device_; }
    torch::ScalarType dtype() const { return dtype_; }

    // Throws zgseg::Error listing every problem, if any.
    void finish();

private:
    SafetensorsFile file_;
    torch::Device device_;
    torch::ScalarType dtype_;
    std::string prefix_;
    std::set<std::string> used_;
    std::vector<std::string> ignored_prefixes_;
    std::vector<std::string> problems_;
};

// A tensor view over a mapped safetensors tensor (no copy), converted to
// `dtype`/`device` (copying only when needed). Keeps the mapping alive.
torch::Tensor tensor_from_view(const TensorView& view, const SafetensorsFile& file,
                               torch::Device device, torch::ScalarType dtype);

// Writes named tensors to a safetensors file image (CPU, contiguous copies).
std::string serialize_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

}  // namespace zgseg
