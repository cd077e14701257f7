#include "io/ascii_text.hpp"

#include <cstdint>

namespace zgseg {
namespace {

// Base letters for U+00C0..U+00FF and U+0100..U+017F; '?' marks the
// two-letter cases handled in fold().
constexpr char kLatin1[] = "AAAAAA?CEEEEIIIIDNOOOOOxOUUUUY??aaaaaa?ceeeeiiiidnooooo/ouuuuy?y";
constexpr char kLatinExtendedA[] =
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi"
    "IiJjKkkLlLlLlLlLlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
static_assert(sizeof kLatin1 - 1 == 64, "one letter per code point U+00C0..U+00FF");
static_assert(sizeof kLatinExtendedA - 1 == 128, "one letter per code point U+0100..U+017F");

std::string fold(std::uint32_t cp) {
    if (cp < 0x20 || cp == 0x7f) return " ";
    if (cp < 0x7f) return std::string(1, static_cast<char>(cp));
    switch (cp) {
        case 0xC6: return "AE";
        case 0xE6: return "ae";
        case 0xDE: return "Th";
        case 0xFE: return "th";
        case 0xDF: return "ss";
        case 0x132: return "IJ";
        case 0x133: return "ij";
        case 0x152: return "OE";
        case 0x153: return "oe";
        case 0xAB: case 0xBB: case 0x201C: case 0x201D: case 0x201E: case 0x201F: case 0x2033: return "\"";
        case 0x2018: case 0x2019: case 0x201A: case 0x201B: case 0x2032: return "'";
        case 0x2026: return "...";
        case 0x2022: return "*";
        case 0xB7: return ".";
        case 0x2212: return "-";
        case 0xA0: case 0x202F: case 0x205F: case 0x3000: return " ";
        case 0x200B: case 0x200C: case 0x200D: case 0xFEFF: return "";
        default: break;
    }
    if (cp >= 0xC0 && cp <= 0xFF) return std::string(1, kLatin1[cp - 0xC0]);
    if (cp >= 0x100 && cp <= 0x17F) return std::string(1, kLatinExtendedA[cp - 0x100]);
    if (cp >= 0x300 && cp <= 0x36F) return "";  // combining accents of decomposed text
    if (cp >= 0x2010 && cp <= 0x2015) return "-";
    if (cp >= 0x2000 && cp <= 0x200A) return " ";
    return "?";
}

}  // namespace

std::string ascii_for_hershey(std::string_view utf8) {
    std::string out;
    std::size_t i = 0;
    while (i < utf8.size()) {
        const auto lead = static_cast<std::uint8_t>(utf8[i]);
        int length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
        std::uint32_t cp = length == 1 ? lead : length == 2 ? lead & 0x1Fu : length == 3 ? lead & 0x0Fu : lead & 0x07u;
        bool valid = length > 0 && i + static_cast<std::size_t>(length) <= utf8.size();
        for (int k = 1; valid && k < length; ++k) {
            const auto next = static_cast<std::uint8_t>(utf8[i + k]);
            if ((next & 0xC0) != 0x80) valid = false;
            cp = (cp << 6) | (next & 0x3Fu);
        }
        // Reject overlong forms and surrogates, as a strict decoder does.
        if (valid && ((length == 2 && cp < 0x80) || (length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000) ||
                      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF))
            valid = false;
        if (!valid) {
            out += '?';
            ++i;
            continue;
        }
        out += fold(cp);
        i += static_cast<std::size_t>(length);
    }
    return out;
}

}  // namespace zgseg
