#include "text/added_tokens.hpp"

#include <algorithm>

#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace zgseg {
namespace {

// \w of Rust's regex crate: alphabetic, marks, decimal digits, connector punctuation, joiners.
bool is_word_char(char32_t cp) {
    using unicode::Category;
    const Category c = unicode::category(cp);
    return unicode::is_letter(cp) || c == Category::Mn || c == Category::Mc || c == Category::Me ||
           c == Category::Nd || c == Category::Nl || c == Category::Pc || cp == 0x200C || cp == 0x200D;
}

// Code point ending at byte offset end (> 0) of valid UTF-8.
char32_t code_point_before(std::string_view s, std::size_t end) {
    std::size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    return utf8::next(s, start);
}

// Start of the white space that ends s[0, end).
std::size_t trailing_space_start(std::string_view s, std::size_t end) {
    while (end > 0) {
        std::size_t start = end - 1;
        while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        std::size_t p = start;
        if (!unicode::is_white_space(utf8::next(s, p))) break;
        end = start;
    }
    return end;
}

// End of the white space that starts at s[begin].
std::size_t leading_space_end(std::string_view s, std::size_t begin) {
    while (begin < s.size()) {
        std::size_t p = begin;
        if (!unicode::is_white_space(utf8::next(s, p))) break;
        begin = p;
    }
    return begin;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) {
    for (auto& t : tokens)
        if (!t.content.empty()) tokens_.push_back(std::move(t));
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextSegment>& out) const {
    std::size_t emitted = 0;  // text before this offset is already in out
    std::size_t search = 0;   // where the next match may start
    while (!tokens_.empty() && search < text.size()) {
        // Leftmost match; the longest among those starting there.
        std::size_t best_pos = std::string_view::npos;
        const AddedToken* best = nullptr;
        for (const auto& t : tokens_) {
            const std::size_t p = text.find(t.content, search);
            if (p == std::string_view::npos) continue;
            if (p < best_pos || (p == best_pos && t.content.size() > best->content.size())) {
                best_pos = p;
                best = &t;
            }
        }
        if (best == nullptr) break;
        std::size_t start = best_pos;
        std::size_t stop = best_pos + best->content.size();
        search = stop;
        if (best->single_word) {
            const bool word_before = start > 0 && is_word_char(code_point_before(text, start));
            std::size_t p = stop;
            const bool word_after = stop < text.size() && is_word_char(utf8::next(text, p));
            if (word_before || word_after) continue;
        }
        if (best->lstrip) start = std::max(trailing_space_start(text, start), emitted);
        if (best->rstrip) stop = leading_space_end(text, stop);
        if (emitted < start) out.push_back({text.substr(emitted, start - emitted), -1});
        out.push_back({text.substr(start, stop - start), best->id});
        emitted = stop;
        search = std::max(search, stop);
    }
    if (emitted < text.size()) out.push_back({text.substr(emitted), -1});
}

}  // namespace zgseg
