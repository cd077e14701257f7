#include "zgseg/runtime.hpp"

#include <c10/core/CPUAllocator.h>
#include <dlfcn.h>
#include <torch/torch.h>

#include <filesystem>

#include "nets/device.hpp"
#include "zgseg/error.hpp"

namespace zgseg {
namespace {

// LibTorch comes in two halves: libtorch_cpu.so, which zgseg links, and
// libtorch_cuda.so with the NVIDIA libraries it pulls in (cuBLAS, cuDNN, NCCL,
// ...). Loading that half costs ~130 MB of anonymous memory (cuBLASLt alone
// touches 90 MB of its .bss) and ~125 MB of resident code, so zgseg loads it
// only on a machine with an NVIDIA driver (libcuda.so.1). It must be loaded
// before LibTorch first asks for its CUDA hooks, because LibTorch caches that
// answer for the life of the process: hence from a static initialiser, at
// start-up, as a DT_NEEDED entry would have done.
struct CudaBackend {
    bool loaded = false;
    std::string why_not;  // why the CUDA half is not loaded, for error messages

    CudaBackend() {
        if (!::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
            why_not = "no NVIDIA driver (libcuda.so.1) on this machine";
            return;
        }
        // libtorch_cuda.so sits beside libc10.so in every LibTorch layout (the
        // torch wheel's torch/lib, the bundle's and the container's lib/).
        Dl_info info{};
        if (!::dladdr(reinterpret_cast<void*>(&c10::GetCPUAllocator), &info) || !info.dli_fname) {
            why_not = "cannot tell where LibTorch's libc10.so was loaded from";
            return;
        }
        const auto path = std::filesystem::path(info.dli_fname).parent_path() / "libtorch_cuda.so";
        if (!std::filesystem::exists(path)) {
            why_not = "this LibTorch has no CUDA half (" + path.string() + " is missing)";
            return;
        }
        if (!::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
            const char* error = ::dlerror();
            why_not = std::string("cannot load ") + (error ? error : path.string());
            return;
        }
        loaded = true;
    }
};

const CudaBackend& cuda_backend() {
    static const CudaBackend backend;
    return backend;
}

[[maybe_unused]] const bool kCudaBackendLoadedAtStartUp = (cuda_backend(), true);

}  // namespace

std::string torch_version() { return ZGSEG_TORCH_VERSION; }
bool cuda_available() { return cuda_backend().loaded && torch::cuda::is_available(); }
std::string cuda_unavailable_reason() {
    if (!cuda_backend().loaded) return cuda_backend().why_not;
    return cuda_available() ? "" : "the CUDA driver reports no usable GPU";
}
void set_cpu_threads(int threads) {
    if (threads > 0) torch::set_num_threads(threads);
}
int cpu_threads() { return torch::get_num_threads(); }

torch::Device device_from_flag(const std::string& name) {
    if (name == "cpu") return torch::kCPU;
    if (name == "cuda" && !cuda_available())
        throw UsageError("--device cuda: no CUDA device is available here (" + cuda_unavailable_reason() +
                         "); use --device cpu or auto");
    return cuda_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

}  // namespace zgseg
