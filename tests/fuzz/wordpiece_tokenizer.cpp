// WordPiece (BERT normaliser, punctuation split, greedy longest match) on
// arbitrary bytes, tiny MiniLM fixture: ill-formed UTF-8 is refused; ids are
// in the vocabulary, framed by [CLS] ... [SEP]; the truncated form keeps
// max_length ids at most, [SEP] last.
#include "fuzz.hpp"
#include "text/wordpiece_tokenizer.hpp"

using namespace zgseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const WordPieceTokenizer tokenizer = WordPieceTokenizer::from_folder(fuzz::test_data() / "nets/minilm_tiny");
    const std::string_view text = fuzz::as_text(data, size);
    if (fuzz::refused_if_ill_formed(tokenizer, text)) return 0;  // ill-formed UTF-8 is refused
    const auto ids = tokenizer.encode(text);
    if (ids.size() < 2 || ids.front() != tokenizer.cls_id() || ids.back() != tokenizer.sep_id()) std::abort();
    for (const auto id : ids)
        if (id < 0 || static_cast<size_t>(id) >= tokenizer.vocab_size()) std::abort();
    const auto cut = tokenizer.encode_truncated(text);
    if (cut.size() > tokenizer.config().max_length || cut.back() != tokenizer.sep_id()) std::abort();
    return 0;
}
