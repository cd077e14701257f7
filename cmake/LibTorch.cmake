# Locate LibTorch and define the imported target zgseg::torch.
#
# We use the LibTorch that ships inside the PyPI `torch` wheel (>= 2.7, built
# with the C++11 ABI so it links with Debian's OpenCV and spdlog). A standalone
# LibTorch archive has the same include/ + lib/ layout and works too.
#
# Why not find_package(Torch)? For a CUDA wheel, TorchConfig.cmake requires a
# local CUDA toolkit at configure time and then links the toolkit's own
# libcudart/libnccl, which differ from the ones the wheel was built against
# (seen here: CUDA 13.0 toolkit vs the wheel's 13.2 → unresolved nccl symbols).
# We link only libtorch_cpu/libc10; src/nets/runtime.cpp loads libtorch_cuda.so
# at run time where an NVIDIA driver is installed, and its own RPATH finds the
# wheel's nvidia/* libraries. So one build runs on CPU-only machines and on CUDA
# machines alike.
#
# Input: ZGSEG_TORCH_ROOT (folder with include/ and lib/). Default: the torch
# package of the project's virtualenv (.venv, made by scripts/setup.sh).

set(ZGSEG_TORCH_ROOT "" CACHE PATH "LibTorch root (folder with include/ and lib/)")
if(NOT ZGSEG_TORCH_ROOT)
  set(_zgseg_py "${PROJECT_SOURCE_DIR}/.venv/bin/python")
  if(EXISTS "${_zgseg_py}")
    execute_process(
      COMMAND "${_zgseg_py}" -c "import os, torch; print(os.path.dirname(torch.__file__))"
      OUTPUT_VARIABLE _zgseg_torch_root OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _zgseg_rc)
    if(_zgseg_rc EQUAL 0)
      set(ZGSEG_TORCH_ROOT "${_zgseg_torch_root}" CACHE PATH "LibTorch root" FORCE)
    endif()
  endif()
endif()
if(NOT EXISTS "${ZGSEG_TORCH_ROOT}/include/torch/csrc/api/include/torch/torch.h")
  message(FATAL_ERROR "LibTorch not found (ZGSEG_TORCH_ROOT='${ZGSEG_TORCH_ROOT}'). "
                      "Run scripts/setup.sh, or pass -DZGSEG_TORCH_ROOT=<folder with include/ and lib/>.")
endif()

set(_zgseg_torch_lib "${ZGSEG_TORCH_ROOT}/lib")
find_library(ZGSEG_LIBTORCH_CPU torch_cpu PATHS "${_zgseg_torch_lib}" NO_DEFAULT_PATH REQUIRED)
find_library(ZGSEG_LIBC10 c10 PATHS "${_zgseg_torch_lib}" NO_DEFAULT_PATH REQUIRED)

# The version, read from the headers (printed by `zgseg --version`).
set(_zgseg_version_h "${ZGSEG_TORCH_ROOT}/include/torch/headeronly/version.h")  # 2.9+
if(NOT EXISTS "${_zgseg_version_h}")
  set(_zgseg_version_h "${ZGSEG_TORCH_ROOT}/include/torch/csrc/api/include/torch/version.h")
endif()
file(STRINGS "${_zgseg_version_h}" _zgseg_tv
     REGEX "#define TORCH_VERSION_(MAJOR|MINOR|PATCH) ")
string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+).*" "\\1.\\2.\\3" ZGSEG_TORCH_VERSION "${_zgseg_tv}")

# LibTorch 2.10 and later need C++20 in every file that includes its headers;
# our code is C++17 and also compiles as C++20, so only the LibTorch targets
# move up when the headers demand it.
file(STRINGS "${ZGSEG_TORCH_ROOT}/include/ATen/ATen.h" _zgseg_needs_cxx20 REGEX "C\\+\\+20 or later")
message(STATUS "LibTorch ${ZGSEG_TORCH_VERSION} at ${ZGSEG_TORCH_ROOT}")

add_library(zgseg_torch INTERFACE)
add_library(zgseg::torch ALIAS zgseg_torch)
target_include_directories(zgseg_torch SYSTEM INTERFACE
  "${ZGSEG_TORCH_ROOT}/include" "${ZGSEG_TORCH_ROOT}/include/torch/csrc/api/include")
target_compile_definitions(zgseg_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1 ZGSEG_TORCH_VERSION="${ZGSEG_TORCH_VERSION}")
if(_zgseg_needs_cxx20)
  target_compile_features(zgseg_torch INTERFACE cxx_std_20)
  message(STATUS "LibTorch ${ZGSEG_TORCH_VERSION} requires C++20: LibTorch targets build as C++20")
endif()
# Only the CPU half: src/nets/runtime.cpp loads libtorch_cuda.so (and with it
# the NVIDIA libraries) at start-up where an NVIDIA driver is installed, so a
# CPU machine never maps them (~130 MB of anonymous memory, ~125 MB of code).
target_link_libraries(zgseg_torch INTERFACE ${ZGSEG_LIBTORCH_CPU} ${ZGSEG_LIBC10})
