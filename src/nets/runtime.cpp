#include "zgseg/runtime.hpp"

#include <torch/torch.h>

namespace zgseg {

std::string torch_version() { return ZGSEG_TORCH_VERSION; }
bool cuda_available() { return torch::cuda::is_available(); }
void set_cpu_threads(int threads) {
    if (threads > 0) torch::set_num_threads(threads);
}
int cpu_threads() { return torch::get_num_threads(); }

}  // namespace zgseg
