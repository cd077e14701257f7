// Logging for the whole library, as plain functions.
//
// Why not spdlog directly everywhere? LibTorch ships its own, newer {fmt}
// headers, which shadow the {fmt} that Debian's spdlog was built against, so a
// file that includes both does not compile. Files that include LibTorch log
// through these functions; spdlog itself stays in torch-free code.
#pragma once

#include <string>

namespace zgseg::log {

void debug(const std::string& message);
void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

}  // namespace zgseg::log
