// The rows of `zgseg bench`: one function a row, each a stage (or a half of
// one) timed over repetitions. A row says what it needs (the rows whose
// outputs it reads, the networks it loads), how to prepare (untimed), what one
// timed repetition does, its analytic FLOPs and its note. Rows that are
// computed from timed ones are in bench/derived_rows.hpp.
//
//   rows.cpp           make_rows(): every row, in run order
//   rows_stage1.cpp    image, dino_keys, ward, prune, crf, dino_keys_chunked
//   rows_stages234.cpp vocab_cache, embedding, embedding_unshared, caption, merging, outputs, clip_image
//   rows_text.cpp      clip_text, gpt2_iteration, mpnet, zerocap_steps, zerocap_steps_reference
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bench/context.hpp"

namespace zgseg::bench {

struct Row {
    std::string name, title;
    bool default_on = true;
    std::vector<std::string> needs;                // rows whose outputs this one reads
    std::vector<std::string> networks;             // model folders it loads
    std::function<void(Context&)> prepare;         // once, untimed: load networks, build inputs (may be empty)
    std::function<void(Context&, int)> run;        // one timed repetition (its index)
    std::function<double(Context&)> flops;         // analytic FLOPs of one repetition; empty or 0 = not counted
    std::function<std::string(Context&)> note;     // may be empty
    bool random_sensitive = false;                 // its work depends on the weights' values
};

// Every row, in run order (a row runs after those it needs).
std::vector<Row> make_rows();

// Stage 1.
Row image_row();
Row dino_keys_row();
Row ward_row();
Row prune_row();
Row crf_row();
Row dino_keys_chunked_row();
// Stages 2–4 and the outputs.
Row vocab_cache_row();
Row embedding_row();
Row embedding_unshared_row();
Row caption_row();
Row merging_row();
Row outputs_row();
Row clip_image_row();
// The text side: ZeroCap's halves, ZeroCap itself, eval's sentence encoder.
Row clip_text_row();
Row gpt2_iteration_row();
Row mpnet_row();
Row zerocap_steps_row();
Row zerocap_steps_reference_row();

}  // namespace zgseg::bench
