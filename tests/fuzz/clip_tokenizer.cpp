// CLIP tokenizer (NFC, lower-case, CLIP's split, BPE with "</w>") on
// arbitrary bytes, tiny fixture vocabulary: ill-formed UTF-8 is refused; the
// text-tower form has at most 77 ids, starts with <|startoftext|> and pools
// an <|endoftext|>; decode never fails on what encode made.
#include "fuzz.hpp"
#include "text/clip_tokenizer.hpp"
#include "text/utf8.hpp"

using namespace zgseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ClipTokenizer tokenizer = ClipTokenizer::from_folder(fuzz::test_data() / "models-tiny/clip-tokenizer");
    const std::string_view text = fuzz::as_text(data, size);
    if (fuzz::refused_if_ill_formed(tokenizer, text)) return 0;  // ill-formed UTF-8 is refused
    const auto ids = tokenizer.encode(text);
    if (ids.size() < 2 || ids.front() != tokenizer.start_id() || ids.back() != tokenizer.end_id()) std::abort();
    const ClipTokens tower = tokenizer.encode_for_text_tower(text);
    if (tower.ids.size() > ClipTokenizer::kContextLength || tower.end_index >= tower.ids.size() ||
        tower.ids[tower.end_index] != tokenizer.end_id() || tower.ids.front() != tokenizer.start_id())
        std::abort();
    if (utf8::find_invalid(tokenizer.decode(ids, true)) != utf8::kValid) std::abort();
    return 0;
}
