// The --device flag → a torch::Device, the same way for every subcommand.
#pragma once

#include <torch/torch.h>

#include <string>

namespace zgseg {

// "cpu", "cuda" (zgseg::UsageError when no CUDA device is available) or
// "auto" (CUDA when available, else the CPU).
torch::Device device_from_flag(const std::string& name);

}  // namespace zgseg
