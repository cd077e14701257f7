// UTF-8 helpers shared by the tokenizers: strict validation (as Python and
// Rust accept it), code point iteration, and the lossy decoding that Python's
// bytes.decode("utf-8", errors="replace") and Rust's from_utf8_lossy perform.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace zgseg::utf8 {

inline constexpr std::size_t kValid = std::string_view::npos;

// Byte offset of the first ill-formed sequence (overlong forms, surrogates,
// code points above U+10FFFF, truncated sequences), or kValid.
std::size_t find_invalid(std::string_view s);

// Decodes the code point at s[pos] and advances pos. s must be valid UTF-8.
inline char32_t next(std::string_view s, std::size_t& pos) {
    const auto b0 = static_cast<unsigned char>(s[pos]);
    if (b0 < 0x80) {
        ++pos;
        return b0;
    }
    const int extra = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : 1;
    char32_t cp = b0 & (0x3F >> extra);
    for (int i = 1; i <= extra; ++i) cp = (cp << 6) | (static_cast<unsigned char>(s[pos + i]) & 0x3F);
    pos += static_cast<std::size_t>(extra) + 1;
    return cp;
}

void append(std::string& out, char32_t cp);

// Decodes valid UTF-8 into code points, and back.
std::u32string to_u32(std::string_view s);
std::string from_u32(std::u32string_view s);

// Bytes -> valid UTF-8: each maximal ill-formed subpart becomes one U+FFFD.
std::string decode_lossy(std::string_view bytes);

inline bool is_ascii(std::string_view s) {
    for (const char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

}  // namespace zgseg::utf8
