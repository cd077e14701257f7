#include "zgseg/runtime.hpp"

#include <torch/torch.h>

#include "nets/device.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

std::string torch_version() { return ZGSEG_TORCH_VERSION; }
bool cuda_available() { return torch::cuda::is_available(); }
void set_cpu_threads(int threads) {
    if (threads > 0) torch::set_num_threads(threads);
}
int cpu_threads() { return torch::get_num_threads(); }

torch::Device device_from_flag(const std::string& name) {
    if (name == "cpu") return torch::kCPU;
    if (name == "cuda" && !torch::cuda::is_available())
        throw UsageError("--device cuda: no CUDA device is available here (use --device cpu or auto)");
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

}  // namespace zgseg
