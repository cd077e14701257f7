// zgseg selftest: the bundled tiny models through every network and stage 2,
// on the device and precision a user will run, compared with the outputs the
// reference libraries (transformers, sentence-transformers, a Python
// re-statement of stage 2) gave for the same inputs. A check that a build, a
// LibTorch and a GPU compute what they should, on any machine.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace zgseg {

struct SelftestCheck {
    std::string name;
    double max_abs_diff = 0;
    double worst_ratio = 0;  // max |got − want| / (atol + rtol·|want|); ≤ 1 passes
    double atol = 0, rtol = 0;
    std::string tolerance_reason;
    double seconds = 0;
    std::string error;  // set when the check could not run (then it fails)
    bool passed() const { return error.empty() && worst_ratio <= 1.0; }
};

struct SelftestReport {
    std::string device, precision, data_dir;
    std::vector<SelftestCheck> checks;
    bool passed() const;
};

// data_dir: nets/ and embedding/ as in tests/data (bundled_selftest_dir()).
// device: "cpu", "cuda" or "auto"; precision: fp32, or fp16/bf16 on CUDA
// (then the tolerances are those of half-precision rounding).
SelftestReport run_selftest(const std::filesystem::path& data_dir, const std::string& device,
                            const std::string& precision);

}  // namespace zgseg
