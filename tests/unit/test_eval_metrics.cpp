// The evaluation metrics on tiny hand-made ground truths and predictions,
// each answer worked out by hand in the comment above it.
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>

#include "eval/dataset.hpp"
#include "eval/metrics.hpp"
#include "eval/summary.hpp"

using namespace zgseg::eval;

namespace {

// rows of integers → CV_32S matrix.
cv::Mat grid(std::initializer_list<std::initializer_list<int>> rows) {
    cv::Mat m(static_cast<int>(rows.size()), static_cast<int>(rows.begin()->size()), CV_32S);
    int y = 0;
    for (const auto& r : rows) {
        int x = 0;
        for (int v : r) m.at<int32_t>(y, x++) = v;
        ++y;
    }
    return m;
}

const Dataset& voc() {
    static const Dataset d = make_dataset("voc20");
    return d;
}
int cls(const Dataset& d, int id) { return d.class_index(id); }

constexpr int kCat = 8, kDog = 12, kHorse = 13;  // VOC ids

const ClassScore* find(const ImageScore& s, int class_index) {
    for (const auto& c : s.classes)
        if (c.class_index == class_index) return &c;
    return nullptr;
}

}  // namespace

TEST(EvalDataset, BundledClassLists) {
    EXPECT_EQ(voc().classes.size(), 20u);
    EXPECT_EQ(voc().classes[7].name, "cat");
    EXPECT_EQ(voc().class_index(0), -1) << "background is no class";
    EXPECT_EQ(voc().class_index(255), -1) << "ignore is no class";
    const Dataset pc59 = make_dataset("pc59"), pc459 = make_dataset("pc459");
    EXPECT_EQ(pc59.classes.size(), 59u);
    EXPECT_EQ(pc459.classes.size(), 458u) << "459 names less 'unknown'";
    EXPECT_EQ(pc459.class_index(431), -1) << "431 = unknown";
    EXPECT_EQ(pc459.classes[static_cast<size_t>(pc459.class_index(1))].name, "accordion");
    EXPECT_EQ(pc59.class_index(1), -1) << "accordion is not among the 59";
    EXPECT_GE(pc59.class_index(65), 0);
    EXPECT_EQ(pc59.classes[static_cast<size_t>(pc59.class_index(65))].name, "cat");
}

// GT: cat in columns 0-1 (8 px), background in 2-3. Segments 1 (col 0) and
// 2 (col 1) both → cat, 3 (cols 2-3) dropped. Union = GT: IoU 1. Each single
// segment: 4/8 = 0.5, so best-segment recall holds at τ = 0.50 and not above.
TEST(EvalMetrics, SameClassSegmentsAreMerged) {
    const cv::Mat gt = grid({{8, 8, 0, 0}, {8, 8, 0, 0}, {8, 8, 0, 0}, {8, 8, 0, 0}});
    const cv::Mat seg = grid({{1, 2, 3, 3}, {1, 2, 3, 3}, {1, 2, 3, 3}, {1, 2, 3, 3}});
    const JointCounts counts(gt, seg);
    const ImageScore s = score_image(counts, {{1, cls(voc(), kCat)}, {2, cls(voc(), kCat)}, {3, -1}}, voc());
    ASSERT_EQ(s.classes.size(), 1u);
    EXPECT_DOUBLE_EQ(s.classes[0].iou, 1.0);
    EXPECT_DOUBLE_EQ(s.classes[0].best_segment_iou, 0.5);
    EXPECT_DOUBLE_EQ(s.mean_iou, 1.0);
    EXPECT_DOUBLE_EQ(s.recall(0.5), 1.0);
    EXPECT_DOUBLE_EQ(s.recall_best_segment(recall_threshold(50)), 1.0);
    EXPECT_DOUBLE_EQ(s.recall_best_segment(recall_threshold(51)), 0.0);
}

// GT: cat left half, dog right half. Predicted: left → cat, right → horse.
// cat 1, dog (not predicted) 0, horse (spurious, on dog pixels) 0/8 = 0.
// IoU 1/3; recall 1/3 with the code's denominator, 1/2 over GT classes only.
TEST(EvalMetrics, SpuriousClassCountsAsMiss) {
    const cv::Mat gt = grid({{8, 8, 12, 12}, {8, 8, 12, 12}});
    const cv::Mat seg = grid({{1, 1, 2, 2}, {1, 1, 2, 2}});
    const ImageScore s = score_image(JointCounts(gt, seg), {{1, cls(voc(), kCat)}, {2, cls(voc(), kHorse)}}, voc());
    ASSERT_EQ(s.classes.size(), 3u);
    EXPECT_DOUBLE_EQ(find(s, cls(voc(), kDog))->iou, 0.0);
    EXPECT_FALSE(find(s, cls(voc(), kDog))->predicted);
    EXPECT_DOUBLE_EQ(find(s, cls(voc(), kHorse))->iou, 0.0);
    EXPECT_FALSE(find(s, cls(voc(), kHorse))->in_ground_truth);
    EXPECT_NEAR(s.mean_iou, 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(s.recall(0.5), 1.0 / 3.0, 1e-12);
    EXPECT_DOUBLE_EQ(s.recall_ground_truth(0.5), 0.5);
    EXPECT_EQ(s.ground_truth_classes(), 2);
    EXPECT_EQ(s.predicted_classes(), 2);
}

// VOC background rule: a predicted class absent from the GT loses its
// background pixels. Here "dog" lies wholly on background → 0/0, left out of
// the image IoU (which is then cat's 1) but still a recall miss (1 of 2).
TEST(EvalMetrics, SpuriousClassOnBackgroundHasNoIoU) {
    const cv::Mat gt = grid({{8, 8, 0, 0}, {8, 8, 0, 0}});
    const cv::Mat seg = grid({{1, 1, 2, 2}, {1, 1, 2, 2}});
    const ImageScore s = score_image(JointCounts(gt, seg), {{1, cls(voc(), kCat)}, {2, cls(voc(), kDog)}}, voc());
    ASSERT_EQ(s.classes.size(), 2u);
    EXPECT_TRUE(std::isnan(find(s, cls(voc(), kDog))->iou));
    EXPECT_DOUBLE_EQ(s.mean_iou, 1.0);
    EXPECT_DOUBLE_EQ(s.recall(0.5), 0.5);
    EXPECT_DOUBLE_EQ(s.recall(0.0), 0.5) << "an undefined IoU is never a hit, even at tau 0";
}

// GT: cat cols 0-1, ignore (255) col 2, background col 3 (4 rows).
// Segment over cols 0-2 → cat: the ignore column is removed → 8/8 = 1.
// Segment over all 4 cols → cat: background is NOT removed for a class that
// is in the GT → 8 / (8 + 4) = 2/3.
TEST(EvalMetrics, IgnorePixelsAndBackgroundOfGroundTruthClasses) {
    const cv::Mat gt = grid({{8, 8, 255, 0}, {8, 8, 255, 0}, {8, 8, 255, 0}, {8, 8, 255, 0}});
    const cv::Mat three = grid({{1, 1, 1, 0}, {1, 1, 1, 0}, {1, 1, 1, 0}, {1, 1, 1, 0}});
    EXPECT_DOUBLE_EQ(score_image(JointCounts(gt, three), {{1, cls(voc(), kCat)}}, voc()).mean_iou, 1.0);
    const cv::Mat all = grid({{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}});
    EXPECT_NEAR(score_image(JointCounts(gt, all), {{1, cls(voc(), kCat)}}, voc()).mean_iou, 2.0 / 3.0, 1e-12);
}

// Cosine below the threshold → dropped; equal → kept (as in the reference).
TEST(EvalMetrics, ThresholdDropsSegments) {
    const std::vector<int> ids = {1, 2, 3};
    const std::vector<Match> matches = {{4, 0.49}, {5, 0.5}, {-1, 0.9}};
    const SegmentClasses a = apply_threshold(ids, matches, 0.5);
    EXPECT_EQ(a.at(1), -1);
    EXPECT_EQ(a.at(2), 5);
    EXPECT_EQ(a.at(3), -1);
    // A dropped segment no longer predicts its class: GT cat, the only cat
    // segment dropped → cat missed (IoU 0), nothing spurious.
    const cv::Mat gt = grid({{8, 8}, {0, 0}});
    const cv::Mat seg = grid({{1, 1}, {2, 2}});
    const std::vector<Match> m = {{cls(voc(), kCat), 0.3}, {cls(voc(), kDog), 0.3}};
    const ImageScore kept = score_image(JointCounts(gt, seg), apply_threshold({1, 2}, m, 0.2), voc());
    const ImageScore dropped = score_image(JointCounts(gt, seg), apply_threshold({1, 2}, m, 0.4), voc());
    EXPECT_DOUBLE_EQ(kept.mean_iou, 1.0);  // dog on background: undefined, left out
    ASSERT_EQ(dropped.classes.size(), 1u);
    EXPECT_DOUBLE_EQ(dropped.mean_iou, 0.0);
}

// GT cat 8 px; predicted cat covers 4 of them and nothing else: IoU 0.5 →
// a hit at τ = 0.50 (≥), a miss at τ = 0.51.
TEST(EvalMetrics, RecallAtTheBoundary) {
    EXPECT_EQ(recall_threshold(50), 0.5);
    const cv::Mat gt = grid({{8, 8, 8, 8}, {8, 8, 8, 8}, {0, 0, 0, 0}});
    const cv::Mat seg = grid({{1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}});
    const ImageScore s = score_image(JointCounts(gt, seg), {{1, cls(voc(), kCat)}}, voc());
    EXPECT_DOUBLE_EQ(s.mean_iou, 0.5);
    EXPECT_DOUBLE_EQ(s.recall(recall_threshold(50)), 1.0);
    EXPECT_DOUBLE_EQ(s.recall(recall_threshold(51)), 0.0);
}

// No segment at all: each GT class is a miss (IoU 0, recall 0). With no GT
// class either, nothing is scored: IoU and recall undefined, and the image
// drops out of the dataset means.
TEST(EvalMetrics, EmptyPrediction) {
    const cv::Mat gt = grid({{8, 8}, {12, 0}});
    const cv::Mat none = grid({{0, 0}, {0, 0}});
    const ImageScore s = score_image(JointCounts(gt, none), {}, voc());
    EXPECT_EQ(s.classes.size(), 2u);
    EXPECT_DOUBLE_EQ(s.mean_iou, 0.0);
    EXPECT_DOUBLE_EQ(s.recall(0.5), 0.0);
    EXPECT_DOUBLE_EQ(s.recall_best_segment(0.0), 0.0) << "an unpredicted class never counts, even at tau 0";

    const cv::Mat background = grid({{0, 0}, {255, 0}});
    const ImageScore nothing = score_image(JointCounts(background, none), {}, voc());
    EXPECT_TRUE(nothing.classes.empty());
    EXPECT_TRUE(std::isnan(nothing.mean_iou));
    EXPECT_TRUE(std::isnan(nothing.recall(0.5)));

    Accumulator acc(voc(), {"tt", 0.5}, true);
    acc.add("a", JointCounts(gt, none), {}, 0);
    acc.add("b", JointCounts(background, none), {}, 0);
    const Summary sum = acc.summary();
    EXPECT_EQ(sum.images, 2);
    EXPECT_DOUBLE_EQ(sum.iou, 0.0) << "mean over the one image with a defined IoU";
    EXPECT_DOUBLE_EQ(sum.recall_at(0.5), 0.0);
}

// The whole image is one class; the prediction covers 3 of 4 pixels and
// arrives at half resolution (2×1 → 2×2 by nearest neighbour).
TEST(EvalMetrics, OneClassImageAndUpsampledPrediction) {
    const cv::Mat gt = grid({{8, 8}, {8, 8}});
    const cv::Mat seg = grid({{1, 1}, {1, 0}});
    EXPECT_DOUBLE_EQ(score_image(JointCounts(gt, seg), {{1, cls(voc(), kCat)}}, voc()).mean_iou, 0.75);
    const cv::Mat half = grid({{1}, {0}});  // 2 rows, 1 column → top row is segment 1
    EXPECT_DOUBLE_EQ(score_image(JointCounts(gt, half), {{1, cls(voc(), kCat)}}, voc()).mean_iou, 0.5);
}

// PC-59: pixels of a class outside the 59 (1 = accordion) are no class but not
// removed either, so a "cat" (65) predicted over them is wrong there.
// GT: cat 2 px, accordion 2 px; predicted cat over all 4 → 2/4.
TEST(EvalMetrics, PascalContextNonClassesAreNotIgnored) {
    const Dataset pc59 = make_dataset("pc59");
    const cv::Mat gt = grid({{65, 65, 1, 1}});
    const cv::Mat seg = grid({{1, 1, 1, 1}});
    const ImageScore s = score_image(JointCounts(gt, seg), {{1, pc59.class_index(65)}}, pc59);
    ASSERT_EQ(s.classes.size(), 1u);
    EXPECT_DOUBLE_EQ(s.mean_iou, 0.5);
}

// Two images. A: GT cat 8 px, predicted cat = those 8 + 4 background px
// (8/12). B: GT cat 4 px, nothing predicted (0).
// Per-image mean: (2/3 + 0) / 2 = 1/3. Dataset-level: intersection 8,
// union (12 GT + 12 predicted − 8) = 16 → 0.5.
TEST(EvalMetrics, DatasetLevelIoUBesidePerImage) {
    const cv::Mat gt_a = grid({{8, 8, 8, 8}, {8, 8, 8, 8}, {0, 0, 0, 0}, {0, 0, 0, 0}});
    const cv::Mat seg_a = grid({{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0}});
    const cv::Mat gt_b = grid({{8, 8, 0, 0}, {8, 8, 0, 0}});
    const cv::Mat seg_b = grid({{0, 0, 0, 0}, {0, 0, 0, 0}});
    Accumulator acc(voc(), {"st", 0.1}, true);
    acc.add("a", JointCounts(gt_a, seg_a), {{1, cls(voc(), kCat)}}, 1);
    acc.add("b", JointCounts(gt_b, seg_b), {}, 0);
    const Summary s = acc.summary();
    EXPECT_NEAR(s.iou, 1.0 / 3.0, 1e-12);
    EXPECT_DOUBLE_EQ(s.dataset_iou, 0.5);
    const auto cat = static_cast<size_t>(cls(voc(), kCat));
    EXPECT_NEAR(s.class_iou[cat], 1.0 / 3.0, 1e-12);
    EXPECT_EQ(s.class_images[cat], 2);
    EXPECT_DOUBLE_EQ(s.class_dataset_iou[cat], 0.5);
    EXPECT_TRUE(std::isnan(s.class_iou[static_cast<size_t>(cls(voc(), kDog))])) << "never scored";
    ASSERT_EQ(acc.images().size(), 2u);
    EXPECT_EQ(acc.images()[0].predicted_classes, 1);
    EXPECT_EQ(acc.images()[1].ground_truth_classes, 1);
}

// Recall curve of one image whose only class has IoU 0.5: 1 for τ ≤ 0.50
// (51 grid points), 0 above. Mean over the 101 points = 51/101; trapezoid
// area = 0.5 (50 full steps) + half a step between 0.50 and 0.51 = 0.505.
TEST(EvalMetrics, RecallCurveMeanAndArea) {
    const cv::Mat gt = grid({{8, 8}});
    const cv::Mat seg = grid({{1, 0}});
    Accumulator acc(voc(), {"tt", 0.5}, false);
    acc.add("x", JointCounts(gt, seg), {{1, cls(voc(), kCat)}}, 1);
    const Summary s = acc.summary();
    ASSERT_EQ(s.recall_curve.size(), 101u);
    EXPECT_DOUBLE_EQ(s.recall_curve[50], 1.0);
    EXPECT_DOUBLE_EQ(s.recall_curve[51], 0.0);
    EXPECT_NEAR(s.recall_mean(), 51.0 / 101.0, 1e-12);
    EXPECT_NEAR(s.recall_area(), 0.505, 1e-12);
    EXPECT_TRUE(acc.images().empty()) << "keep_images = false";
}

TEST(EvalDataset, NaturalOrder) {
    EXPECT_TRUE(natural_less("img2", "img10"));
    EXPECT_FALSE(natural_less("img10", "img2"));
    EXPECT_TRUE(natural_less("2007_000033", "2007_000129"));
    EXPECT_TRUE(natural_less("a", "b"));
    EXPECT_TRUE(natural_less("a1", "a1b"));
    EXPECT_FALSE(natural_less("a1", "a1"));
}
