// Added (special) tokens found verbatim in the input, as Hugging Face's
// AddedVocabulary does: leftmost-longest matches, with the lstrip / rstrip /
// single_word options. Text between matches goes on to normalisation and
// pre-tokenization; a match becomes its id directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zgseg {

struct AddedToken {
    std::string content;
    std::int32_t id = -1;
    bool lstrip = false;       // also swallow the white space before it
    bool rstrip = false;       // also swallow the white space after it
    bool single_word = false;  // only match when not inside a word
    bool normalized = false;   // matched in normalised text (else in the raw input)
    bool special = true;
};

struct TextSegment {
    std::string_view text;
    std::int32_t added_id = -1;  // >= 0: the segment is this added token
};

class AddedTokenMatcher {
public:
    AddedTokenMatcher() = default;
    explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

    bool empty() const { return tokens_.empty(); }
    // Appends the segments of text (valid UTF-8) to out, in order.
    void split(std::string_view text, std::vector<TextSegment>& out) const;

private:
    std::vector<AddedToken> tokens_;
};

}  // namespace zgseg
