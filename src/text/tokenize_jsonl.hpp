// The library side of the CLI's tokenize command: one JSON string per input
// line -> one JSON array of ids per output line, with the ids of Hugging Face's
// tokenizer(text)["input_ids"]:
//   gpt2  no special tokens;
//   clip  <|startoftext|> ... <|endoftext|>, no padding, no truncation;
//   sbert [CLS] ... [SEP] (or <s> ... </s> for MPNet), no truncation.
// With decode (gpt2 only) each line is a JSON array of ids and the output a
// JSON string (tokenizer.decode(ids): bytes that are not UTF-8 become U+FFFD).
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

namespace zgseg {

// Returns 0 on success. The first bad line (not JSON, wrong JSON type, text
// that is not valid UTF-8, an id out of range) is reported on err with its
// line number and stops the run with 1, so that output line i always answers
// input line i; unusable arguments or tokenizer files give 2. Blank lines are skipped.
int tokenize_jsonl(std::istream& in, std::ostream& out, std::ostream& err, const std::string& kind,
                   const std::filesystem::path& tokenizer_dir, bool decode);

}  // namespace zgseg
