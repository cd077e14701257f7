// GPT-2 byte-level BPE on arbitrary bytes (tiny fixture vocabulary, so most
// words fall back to single bytes): ill-formed UTF-8 is refused with
// zgseg::Error; for valid UTF-8, decode(encode(x)) == x and every id is in
// the vocabulary. Arbitrary ids (two bytes each) decode or are refused.
#include "fuzz.hpp"
#include "text/gpt2_tokenizer.hpp"
#include "text/utf8.hpp"

using namespace zgseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Gpt2Tokenizer tokenizer = Gpt2Tokenizer::from_folder(fuzz::test_data() / "nets/gpt2_tiny");
    const std::string_view text = fuzz::as_text(data, size);
    if (fuzz::refused_if_ill_formed(tokenizer, text)) return 0;  // ill-formed UTF-8 is refused
    const auto ids = tokenizer.encode(text);
    for (const auto id : ids)
        if (id < 0 || static_cast<size_t>(id) >= tokenizer.id_limit()) std::abort();
    if (tokenizer.decode_bytes(ids) != text || tokenizer.decode(ids) != text) std::abort();

    std::vector<std::int32_t> raw;
    for (size_t i = 0; i + 1 < size; i += 2) raw.push_back(static_cast<std::int32_t>(data[i] | data[i + 1] << 8) - 64);
    fuzz::expect_errors([&] {
        if (utf8::find_invalid(tokenizer.decode(raw)) != utf8::kValid) std::abort();
    });
    return 0;
}
