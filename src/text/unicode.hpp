// Unicode character properties and normalisation for the tokenizers, from the
// tables generated into unicode_data.cpp (Unicode version: unicode::version()).
// All functions take Unicode scalar values; results for surrogates are unspecified.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zgseg::unicode {

// General category; same order as scripts/gen_unicode_tables.py.
enum class Category : std::uint8_t {
    Cn, Lu, Ll, Lt, Lm, Lo, Mn, Mc, Me, Nd, Nl, No,
    Pc, Pd, Ps, Pe, Pi, Pf, Po, Sm, Sc, Sk, So, Zs, Zl, Zp, Cc, Cf, Cs, Co
};

const char* version();

Category category(char32_t cp);

inline bool is_letter(char32_t cp) {  // \p{L}
    const auto c = category(cp);
    return c >= Category::Lu && c <= Category::Lo;
}
inline bool is_number(char32_t cp) {  // \p{N}
    const auto c = category(cp);
    return c >= Category::Nd && c <= Category::No;
}
inline bool is_punctuation(char32_t cp) {  // \p{P}
    const auto c = category(cp);
    return c >= Category::Pc && c <= Category::Po;
}
inline bool is_mark_nonspacing(char32_t cp) { return category(cp) == Category::Mn; }

// The White_Space property: Rust's char::is_whitespace, and \s of Oniguruma
// and of PCRE2 in UCP mode (checked over every code point by the golden test).
inline bool is_white_space(char32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85) return false;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

int combining_class(char32_t cp);

// Full per-character lowercase mapping (one or two code points), with no
// context rule (final sigma stays σ): what Rust's char::to_lowercase does.
void append_lowercase(char32_t cp, std::u32string& out);
std::u32string lowercase(std::u32string_view s);

// Canonical decomposition (NFD) and canonical composition (NFC).
std::u32string nfd(std::u32string_view s);
std::u32string nfc(std::u32string_view s);

}  // namespace zgseg::unicode
