#include "bench/machine.hpp"

#include <ATen/Version.h>
#include <sys/utsname.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "zgseg/runtime.hpp"

namespace zgseg::bench {

namespace {

std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t-");
    const auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) return trim(line.substr(line.find(':') + 1));
    return "unknown";
}

// From LibTorch's build configuration: "BLAS_INFO=mkl" and the MKL or
// OpenBLAS version line when there is one.
std::string blas() {
    std::istringstream config(at::show_config());
    std::string line, info, library;
    while (std::getline(config, line)) {
        line = trim(line);
        // "Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, ..."
        if (const auto at = line.find("BLAS_INFO="); at != std::string::npos && info.empty())
            info = line.substr(at + 10, line.find(',', at) == std::string::npos ? std::string::npos
                                                                               : line.find(',', at) - at - 10);
        if (line.find("Math Kernel Library") != std::string::npos || line.find("OpenBLAS") != std::string::npos)
            library = line;
    }
    if (info.empty() && library.empty()) return "unknown";
    if (library.empty()) return info;
    return info.empty() ? library : info + " (" + library + ")";
}

std::string os() {
    utsname u{};
    if (::uname(&u) != 0) return "unknown";
    std::string pretty;
    std::ifstream release("/etc/os-release");
    std::string line;
    while (std::getline(release, line))
        if (line.rfind("PRETTY_NAME=", 0) == 0) pretty = line.substr(12);
    if (pretty.size() >= 2 && pretty.front() == '"') pretty = pretty.substr(1, pretty.size() - 2);
    return (pretty.empty() ? std::string(u.sysname) : pretty) + ", kernel " + u.release + " " + u.machine;
}

}  // namespace

nlohmann::json machine_info() {
    return {{"cpu", cpu_model()},
            {"logical_cores", std::thread::hardware_concurrency()},
            {"torch_threads", torch::get_num_threads()},
            {"libtorch", torch_version()},
            {"blas", blas()},
            {"cuda_available", cuda_available()},
            {"cuda_devices", cuda_available() ? torch::cuda::device_count() : 0},
            {"os", os()}};
}

nlohmann::json load_average() {
    std::ifstream in("/proc/loadavg");
    double a = 0, b = 0, c = 0;
    if (!(in >> a >> b >> c)) return nlohmann::json::array();
    return {a, b, c};
}

}  // namespace zgseg::bench
