// Facts about the compute runtime (LibTorch), behind a header without LibTorch.
#pragma once

#include <string>

namespace zgseg {

std::string torch_version();
// True when LibTorch's CUDA half is loaded (only where an NVIDIA driver is
// installed) and the driver reports a GPU.
bool cuda_available();
// Why cuda_available() is false, in a few words ("" when it is true).
std::string cuda_unavailable_reason();
// 0 keeps LibTorch's default (all cores).
void set_cpu_threads(int threads);
int cpu_threads();

}  // namespace zgseg
