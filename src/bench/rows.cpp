// The bench's rows in run order: each row comes after those it needs.
#include "bench/rows.hpp"

namespace zgseg::bench {

std::vector<Row> make_rows() {
    return {// stage 1
            image_row(), dino_keys_row(), ward_row(), prune_row(), crf_row(),
            // stages 2–4, the outputs
            vocab_cache_row(), embedding_row(), embedding_unshared_row(), caption_row(), merging_row(), outputs_row(),
            // for reference
            clip_image_row(), dino_keys_chunked_row(),
            // the text side
            clip_text_row(), gpt2_iteration_row(), mpnet_row(), zerocap_steps_row(), zerocap_steps_reference_row()};
}

}  // namespace zgseg::bench
