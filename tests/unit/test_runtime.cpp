// LibTorch's CUDA half is loaded at start-up only where an NVIDIA driver is
// installed (src/nets/runtime.cpp): a CPU machine must never map it.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "zgseg/runtime.hpp"

namespace {

bool mapped(const std::string& library) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line))
        if (line.find("/" + library) != std::string::npos) return true;
    return false;
}

TEST(Runtime, CudaHalfIsLoadedOnlyWhereAnNvidiaDriverIs) {
    const bool driver = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD) != nullptr ||
                        ::dlopen("libcuda.so.1", RTLD_LAZY) != nullptr;
    const bool available = zgseg::cuda_available();  // also makes sure runtime.cpp is linked in
    if (!driver) {
        EXPECT_FALSE(available);
        EXPECT_FALSE(mapped("libtorch_cuda.so")) << "a machine without an NVIDIA driver mapped LibTorch's CUDA half";
        EXPECT_FALSE(mapped("libcublasLt.so")) << "a machine without an NVIDIA driver mapped cuBLASLt";
        EXPECT_NE(zgseg::cuda_unavailable_reason().find("libcuda.so.1"), std::string::npos)
            << zgseg::cuda_unavailable_reason();
    } else {
        // With a driver, the CUDA half is there unless this LibTorch has none.
        EXPECT_TRUE(mapped("libtorch_cuda.so") || !zgseg::cuda_unavailable_reason().empty());
    }
    EXPECT_EQ(available, zgseg::cuda_unavailable_reason().empty());
}

}  // namespace
