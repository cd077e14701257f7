#include "text/pretokenizers.hpp"

#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace zgseg {
namespace {

enum class CharClass { Space, Letter, Number, Other };

CharClass classify(char32_t cp) {
    if (cp < 0x80) {  // fast path for ASCII
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return CharClass::Letter;
        if (cp >= '0' && cp <= '9') return CharClass::Number;
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return CharClass::Space;
        return CharClass::Other;
    }
    if (unicode::is_white_space(cp)) return CharClass::Space;
    if (unicode::is_letter(cp)) return CharClass::Letter;
    if (unicode::is_number(cp)) return CharClass::Number;
    return CharClass::Other;
}

CharClass class_at(std::string_view s, std::size_t pos) {
    return classify(utf8::next(s, pos));
}

// End of the run of code points of class cls starting at pos.
std::size_t run_end(std::string_view s, std::size_t pos, CharClass cls) {
    while (pos < s.size()) {
        std::size_t p = pos;
        if (classify(utf8::next(s, p)) != cls) break;
        pos = p;
    }
    return pos;
}

// Length of 's 't 're 've 'm 'll 'd at pos (s[pos] == '\''), or 0.
std::size_t contraction_length(std::string_view s, std::size_t pos) {
    if (pos + 1 >= s.size()) return 0;
    const char a = s[pos + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (pos + 2 >= s.size()) return 0;
    const char b = s[pos + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

}  // namespace

void split_gpt2(std::string_view s, std::vector<std::string_view>& words) {
    std::size_t pos = 0;
    while (pos < s.size()) {
        const std::size_t start = pos;
        if (s[pos] == '\'') {
            if (const std::size_t len = contraction_length(s, pos)) {
                words.push_back(s.substr(pos, len));
                pos += len;
                continue;
            }
        }
        // " ?X+" for the letter, number and other classes: one optional ASCII space.
        std::size_t body = pos;
        if (s[pos] == ' ' && pos + 1 < s.size() && class_at(s, pos + 1) != CharClass::Space) body = pos + 1;
        const CharClass cls = class_at(s, body);
        if (cls != CharClass::Space) {
            pos = run_end(s, body, cls);
            words.push_back(s.substr(start, pos - start));
            continue;
        }
        // "\s+(?!\S)|\s+": a run of white space, less its last character when a
        // non-space follows (that one then leads the next word), unless the run is one character.
        std::size_t last = pos;  // start of the run's last code point
        std::size_t end = pos;
        while (end < s.size()) {
            std::size_t p = end;
            if (classify(utf8::next(s, p)) != CharClass::Space) break;
            last = end;
            end = p;
        }
        pos = (end < s.size() && last > start) ? last : end;
        words.push_back(s.substr(start, pos - start));
    }
}

void split_clip(std::string_view s, std::vector<std::string_view>& words) {
    std::size_t pos = 0;
    while (pos < s.size()) {
        const std::size_t start = pos;
        if (s[pos] == '\'') {
            if (const std::size_t len = contraction_length(s, pos)) {
                words.push_back(s.substr(pos, len));
                pos += len;
                continue;
            }
        }
        std::size_t next = pos;
        const CharClass cls = classify(utf8::next(s, next));
        switch (cls) {
            case CharClass::Space:
                pos = next;
                continue;
            case CharClass::Number:  // one digit per word
                pos = next;
                break;
            case CharClass::Letter:
                pos = run_end(s, next, CharClass::Letter);
                break;
            case CharClass::Other:
                pos = run_end(s, next, CharClass::Other);
                break;
        }
        words.push_back(s.substr(start, pos - start));
    }
}

void split_bert(std::string_view s, std::vector<std::string_view>& words) {
    std::size_t pos = 0;
    std::size_t word_start = 0;
    while (pos < s.size()) {
        const std::size_t start = pos;
        const char32_t cp = utf8::next(s, pos);
        const bool space = unicode::is_white_space(cp);
        const bool punct = !space && ((cp < 0x80 && cp > 0x20 && cp != 0x7F && !((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') &&
                                       !(cp >= '0' && cp <= '9')) ||
                                      unicode::is_punctuation(cp));
        if (!space && !punct) continue;
        if (word_start < start) words.push_back(s.substr(word_start, start - word_start));
        if (punct) words.push_back(s.substr(start, pos - start));
        word_start = pos;
    }
    if (word_start < s.size()) words.push_back(s.substr(word_start));
}

}  // namespace zgseg
