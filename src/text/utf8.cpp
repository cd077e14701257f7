#include "text/utf8.hpp"

namespace zgseg::utf8 {
namespace {

// Length of the well-formed prefix of the sequence starting at s[pos]
// (Unicode Table 3-7), and whether the whole sequence is well formed.
struct Scan {
    std::size_t length;
    bool complete;
};

Scan scan_sequence(std::string_view s, std::size_t pos) {
    const auto b0 = static_cast<unsigned char>(s[pos]);
    if (b0 < 0x80) return {1, true};
    int extra = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        extra = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        extra = 2;
        if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
        if (b0 == 0xED) hi = 0x9F;  // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        extra = 3;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
        return {1, false};
    }
    std::size_t len = 1;
    for (int i = 0; i < extra; ++i, lo = 0x80, hi = 0xBF) {
        if (pos + len >= s.size()) return {len, false};
        const auto b = static_cast<unsigned char>(s[pos + len]);
        if (b < lo || b > hi) return {len, false};
        ++len;
    }
    return {len, true};
}

}  // namespace

std::size_t find_invalid(std::string_view s) {
    std::size_t pos = 0;
    while (pos < s.size()) {
        if (static_cast<unsigned char>(s[pos]) < 0x80) {
            ++pos;
            continue;
        }
        const Scan sc = scan_sequence(s, pos);
        if (!sc.complete) return pos;
        pos += sc.length;
    }
    return kValid;
}

void append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::u32string to_u32(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (std::size_t pos = 0; pos < s.size();) out += next(s, pos);
    return out;
}

std::string from_u32(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char32_t cp : s) append(out, cp);
    return out;
}

std::string decode_lossy(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const Scan sc = scan_sequence(bytes, pos);
        if (sc.complete)
            out.append(bytes.substr(pos, sc.length));
        else
            out += "\xEF\xBF\xBD";  // U+FFFD for the maximal ill-formed subpart
        pos += sc.length;
    }
    return out;
}

}  // namespace zgseg::utf8
