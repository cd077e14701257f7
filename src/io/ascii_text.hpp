// OpenCV's Hershey fonts draw printable ASCII only: captions are folded to it
// before drawing (accents dropped, typographic punctuation simplified,
// anything else shown as '?').
#pragma once

#include <string>
#include <string_view>

namespace zgseg {

// UTF-8 -> printable ASCII: "café" -> "cafe", "Straße" -> "Strasse", "“a—b”" -> "\"a-b\"",
// control characters -> ' ', combining marks and zero-width characters dropped,
// other characters and invalid UTF-8 bytes -> '?'.
std::string ascii_for_hershey(std::string_view utf8);

}  // namespace zgseg
