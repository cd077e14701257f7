// Precompiled header for the LibTorch targets (see CMakeLists.txt).
#pragma once
#include <torch/torch.h>
