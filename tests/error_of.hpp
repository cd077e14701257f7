// The message of the zgseg::Error that `f` throws, or "" when it throws none
// (so a test's substring check on the message fails then). Any other
// exception escapes and fails the test.
#pragma once

#include <functional>
#include <string>

#include "zgseg/error.hpp"

namespace zgseg::testing {

inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const zgseg::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace zgseg::testing
