// zgseg — the one exception type of the library.
//
// Every failure the user can cause (bad file, bad flag value, missing model)
// is reported as a zgseg::Error whose message says what failed, on which
// input, and what to do. The CLI prints it as one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace zgseg {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Usage errors (a bad flag value, a bad combination of flags): exit code 2.
class UsageError : public Error {
public:
    explicit UsageError(const std::string& message) : Error(message) {}
};

}  // namespace zgseg
