// The benchmark's analytic FLOP counts: properties that tie the formulas to
// what the code runs (padding per sorted batch, shared blocks in stage 2).
#include <gtest/gtest.h>

#include "bench/flops.hpp"

using namespace zgseg;

namespace {

const flops::ClipVisionShape kClipL{{1024, 4096, 24, 14}, 24, 768};
const flops::TextShape kClipText{768, 3072, 12, 768};

}  // namespace

TEST(BenchFlops, StageTwoForOneNodeIsOneStandardForward) {
    // Shared blocks once + the masked blocks for one node = every block once.
    EXPECT_DOUBLE_EQ(flops::segment_embedding(kClipL, 4, 1), flops::clip_image(kClipL));
    EXPECT_DOUBLE_EQ(flops::segment_embedding_unshared(kClipL, 20), 20 * flops::clip_image(kClipL));
    // Sharing saves the first 20 of 24 blocks for every node after the first.
    const double saved = flops::segment_embedding_unshared(kClipL, 20) - flops::segment_embedding(kClipL, 4, 20);
    EXPECT_NEAR(saved, 19 * 20 * flops::encoder_block(577, 1024, 4096) + 19 * flops::patch_embedding(576, 1024, 14),
                1e-6 * saved);
}

TEST(BenchFlops, ClipTextPadsEachSortedBatchToItsLongest) {
    const double block3 = 12 * flops::encoder_block(3, 768, 3072), block10 = 12 * flops::encoder_block(10, 768, 3072);
    const double projections = 4 * 2.0 * 768 * 768;
    // Sorted 3, 3, 10, 10: batches of two pad nothing; one batch of four pads all to 10.
    EXPECT_DOUBLE_EQ(flops::clip_text(kClipText, {10, 3, 3, 10}, 2), 2 * block3 + 2 * block10 + projections);
    EXPECT_DOUBLE_EQ(flops::clip_text(kClipText, {10, 3, 3, 10}, 4), 4 * block10 + projections);
}

TEST(BenchFlops, EncoderBlockCountsProjectionsMlpAndAttention) {
    // T = 2 tokens, C = 4, I = 8: q,k,v 2·2·4·12 = 192; out 64; MLP 2·2·4·8·2 = 256; attention 2·2·2·4·2 = 64.
    EXPECT_DOUBLE_EQ(flops::encoder_block(2, 4, 8), 192 + 64 + 256 + 64);
}
