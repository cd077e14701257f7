#include "text/unicode.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/unicode_data.hpp"

namespace zgseg::unicode {
namespace ud = unicode_data;
namespace {

constexpr char32_t kMaxCodePoint = 0x110000;

// Hangul syllables decompose algorithmically (Unicode 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

// One category byte per code point (1.1 MB): the tokenizers ask for every character.
const std::vector<std::uint8_t>& category_table() {
    static const std::vector<std::uint8_t> table = [] {
        std::vector<std::uint8_t> t(kMaxCodePoint);
        for (std::size_t i = 0; i < ud::kCategoryRuns_size; ++i) {
            const std::uint32_t begin = ud::kCategoryRuns[i] >> 5;
            const std::uint32_t end = i + 1 < ud::kCategoryRuns_size ? ud::kCategoryRuns[i + 1] >> 5 : kMaxCodePoint;
            std::fill(t.begin() + begin, t.begin() + end, static_cast<std::uint8_t>(ud::kCategoryRuns[i] & 31));
        }
        return t;
    }();
    return table;
}

struct Decompositions {
    std::unordered_map<char32_t, std::pair<char32_t, char32_t>> decompose;
    std::unordered_map<std::uint64_t, char32_t> compose;  // (first << 32 | second) -> composite
};

const Decompositions& decompositions() {
    static const Decompositions d = [] {
        Decompositions r;
        r.decompose.reserve(ud::kDecompositions_size);
        for (std::size_t i = 0; i < ud::kDecompositions_size; ++i) {
            const auto& e = ud::kDecompositions[i];
            r.decompose.emplace(e.code_point, std::make_pair(char32_t(e.first), char32_t(e.second)));
            if (e.composes) r.compose.emplace(std::uint64_t(e.first) << 32 | e.second, e.code_point);
        }
        return r;
    }();
    return d;
}

const std::unordered_map<char32_t, std::pair<char32_t, char32_t>>& lowercase_map() {
    static const auto m = [] {
        std::unordered_map<char32_t, std::pair<char32_t, char32_t>> r;
        r.reserve(ud::kLowercase_size);
        for (std::size_t i = 0; i < ud::kLowercase_size; ++i)
            r.emplace(ud::kLowercase[i].code_point,
                      std::make_pair(char32_t(ud::kLowercase[i].lower1), char32_t(ud::kLowercase[i].lower2)));
        return r;
    }();
    return m;
}

void decompose_into(char32_t cp, std::u32string& out) {
    if (cp >= kSBase && cp < kSBase + kSCount) {
        const char32_t s = cp - kSBase;
        out += kLBase + s / kNCount;
        out += kVBase + (s % kNCount) / kTCount;
        if (s % kTCount != 0) out += kTBase + s % kTCount;
        return;
    }
    const auto& map = decompositions().decompose;
    const auto it = map.find(cp);
    if (it == map.end()) {
        out += cp;
        return;
    }
    decompose_into(it->second.first, out);
    if (it->second.second != 0) decompose_into(it->second.second, out);
}

// Composite of (first, second), or 0.
char32_t compose_pair(char32_t first, char32_t second) {
    if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount)
        return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
    if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 && second > kTBase &&
        second < kTBase + kTCount)
        return first + (second - kTBase);
    const auto& map = decompositions().compose;
    const auto it = map.find(std::uint64_t(first) << 32 | second);
    return it == map.end() ? 0 : it->second;
}

}  // namespace

const char* version() { return ud::kUnicodeVersion; }

Category category(char32_t cp) {
    if (cp >= kMaxCodePoint) return Category::Cn;
    return static_cast<Category>(category_table()[cp]);
}

int combining_class(char32_t cp) {
    if (cp < 0x300) return 0;
    const std::uint32_t* begin = ud::kCombiningRuns;
    const std::uint32_t* end = begin + ud::kCombiningRuns_size;
    // Last run starting at or before cp.
    const auto* it = std::upper_bound(begin, end, cp, [](char32_t v, std::uint32_t run) { return v < (run >> 8); });
    return it == begin ? 0 : static_cast<int>(*(it - 1) & 0xFF);
}

void append_lowercase(char32_t cp, std::u32string& out) {
    if (cp < 0x80) {
        out += (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return;
    }
    const auto& map = lowercase_map();
    const auto it = map.find(cp);
    if (it == map.end()) {
        out += cp;
        return;
    }
    out += it->second.first;
    if (it->second.second != 0) out += it->second.second;
}

std::u32string lowercase(std::u32string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (const char32_t cp : s) append_lowercase(cp, out);
    return out;
}

std::u32string nfd(std::u32string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (const char32_t cp : s) {
        if (cp < 0xC0)
            out += cp;
        else
            decompose_into(cp, out);
    }
    // Canonical ordering: stable sort of each run of non-starters by combining class.
    for (std::size_t i = 0; i < out.size();) {
        if (combining_class(out[i]) == 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < out.size() && combining_class(out[j]) != 0) ++j;
        std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(i), out.begin() + static_cast<std::ptrdiff_t>(j),
                         [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
        i = j;
    }
    return out;
}

std::u32string nfc(std::u32string_view s) {
    const std::u32string d = nfd(s);
    std::u32string out;
    out.reserve(d.size());
    std::size_t starter = std::u32string::npos;  // index in out of the last starter
    int last_class = -1;                         // class of the last character kept after it; -1: none
    for (const char32_t cp : d) {
        const int cls = combining_class(cp);
        if (starter != std::u32string::npos && (last_class == -1 || (last_class != 0 && last_class < cls))) {
            const char32_t composite = compose_pair(out[starter], cp);
            if (composite != 0) {
                out[starter] = composite;
                continue;
            }
        }
        out += cp;
        if (cls == 0) {
            starter = out.size() - 1;
            last_class = -1;
        } else {
            last_class = cls;
        }
    }
    return out;
}

}  // namespace zgseg::unicode
