// Tensor comparisons of the golden tests: |got − want| ≤ atol + rtol·|want|
// with tolerances from tests/tolerance.hpp, printing what was seen.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "tolerance.hpp"

namespace zgseg::testing {

inline std::vector<double> to_doubles(const torch::Tensor& t) {
    const auto d = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().reshape({-1});
    return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

// |got − want| ≤ atol + rtol·|want| elementwise (see tolerance.hpp); prints
// the max difference and the worst ratio to the tolerance; returns whether it held.
inline bool expect_close(const std::string& what, const torch::Tensor& got, const torch::Tensor& want,
                         const Tolerance& tolerance) {
    EXPECT_EQ(got.sizes(), want.sizes()) << what;
    if (got.sizes() != want.sizes()) return false;
    const Closeness c = closeness(to_doubles(got), to_doubles(want), tolerance);
    print_closeness(what, c, tolerance);
    EXPECT_TRUE(c.ok()) << what << ": max abs diff " << c.max_abs_diff << ", " << c.worst_ratio
                        << "x the tolerance (atol " << tolerance.atol << ", rtol " << tolerance.rtol << ")";
    return c.ok();
}

// The magnitude a tolerance is scaled by: the largest |value| compared.
inline double magnitude(const torch::Tensor& t) { return t.detach().abs().max().item<double>(); }

}  // namespace zgseg::testing
