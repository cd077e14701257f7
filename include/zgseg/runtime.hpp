// Facts about the compute runtime (LibTorch), behind a header without LibTorch.
#pragma once

#include <string>

namespace zgseg {

std::string torch_version();
bool cuda_available();
// 0 keeps LibTorch's default (all cores).
void set_cpu_threads(int threads);
int cpu_threads();

}  // namespace zgseg
