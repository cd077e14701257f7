// The line- and JSON-based lists a user may hand zgseg: the captioner's
// vocabulary (--vocab), eval's class list (--classes), and the tokenizer
// files vocab.txt, vocab.json and merges.txt. The same bytes go to each.
#include "eval/dataset.hpp"
#include "fuzz.hpp"
#include "text/token_files.hpp"
#include "text/vocabulary.hpp"

using namespace zgseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto path = fuzz::write_file("list.txt", data, size);
    fuzz::expect_errors([&] {
        for (const auto& entry : read_vocabulary(path))
            if (entry.empty() || entry.find('#') != std::string::npos) std::abort();
    });
    fuzz::expect_errors([&] {
        const auto classes = eval::read_class_file(path);
        if (classes.empty()) std::abort();
    });
    fuzz::expect_errors([&] { (void)read_vocab_txt(path); });
    fuzz::expect_errors([&] { (void)read_vocab_json(path); });
    fuzz::expect_errors([&] { (void)parse_merges(fuzz::as_text(data, size), path.string()); });
    return 0;
}
