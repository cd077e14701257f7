// The paper's scores for one image (§4.3), with the semantics of its official
// evaluation code (eval_openvocab.py; reference-notes §7):
//
// * Reassigned segments of the same class are merged (union).
// * The classes scored in an image are those present in its ground truth
//   (background, ignore and non-classes excluded) ∪ those predicted, so a
//   predicted class absent from the ground truth is a miss (IoU 0) and a
//   ground-truth class nobody predicted is a miss too.
// * Per class, a binary IoU: ground truth = pixels of that class; prediction =
//   the union of its segments. Pixels with the ignore value (VOC 255) are
//   removed from the prediction; for a predicted class absent from the ground
//   truth, background pixels (VOC 0) are removed too, so a spurious class lying
//   wholly on unlabelled background has no IoU at all (0/0, left out of the
//   mean) rather than IoU 0. PASCAL-Context has neither value.
// * Image IoU = mean over its classes, ignoring undefined (0/0) ones; the
//   dataset IoU is the mean over images (again ignoring undefined ones).
// * Segment Recall at τ: a scored class is a true positive when its IoU ≥ τ;
//   recall = true positives / scored classes (the code's denominator, which
//   counts spurious classes; the paper's text counts ground-truth classes
//   only — both are reported). An undefined IoU is never a true positive.
//   "Best segment" recall uses, per class, the best IoU of any single segment
//   assigned to it (the code's 'allseg'); a class with no segment never counts.
//
// Besides, the standard dataset-level IoU: one confusion count over all
// images' non-ignored pixels, per class intersection / union, mean over the
// classes that occur (pixels of a class predicted on background are false
// positives there; nothing else is removed).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <vector>

#include <opencv2/core.hpp>

#include "eval/dataset.hpp"

namespace zgseg::eval {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// How many pixels have each (ground-truth value, predicted segment id) pair.
// The prediction is brought to the ground truth's size by nearest neighbour
// (row floor(y·h/H), column floor(x·w/W)) when the sizes differ.
class JointCounts {
public:
    // ground_truth: H×W CV_32S; segments: h×w CV_32S segment ids (0 = none).
    JointCounts(const cv::Mat& ground_truth, const cv::Mat& segments);

    const std::vector<int>& gt_values() const { return gt_values_; }      // distinct, ascending
    const std::vector<int>& segment_ids() const { return segment_ids_; }  // distinct, ascending
    int64_t count(size_t gt_index, size_t segment_index) const {
        return counts_[gt_index * segment_ids_.size() + segment_index];
    }

private:
    std::vector<int> gt_values_, segment_ids_;
    std::vector<int64_t> counts_;  // row-major (gt value, segment id)
};

// Segment id → index into Dataset::classes, or -1 when the segment was dropped.
using SegmentClasses = std::map<int, int>;

struct ClassScore {
    int class_index = -1;
    bool in_ground_truth = false;
    bool predicted = false;           // at least one segment reassigned to it
    int64_t intersection = 0;
    int64_t union_pixels = 0;         // after the exclusions above
    double iou = kNaN;                // NaN when union_pixels == 0
    double best_segment_iou = -1.0;   // -1 when not predicted; NaN when no segment has a defined IoU
};

struct ImageScore {
    std::vector<ClassScore> classes;  // ground truth ∪ predicted, by class index
    double mean_iou = kNaN;           // NaN when no class has a defined IoU

    int ground_truth_classes() const;
    int predicted_classes() const;
    // NaN when there is nothing to recall (no class scored / no GT class).
    double recall(double tau) const;               // merged segments, code's denominator
    double recall_best_segment(double tau) const;  // best single segment, code's denominator
    double recall_ground_truth(double tau) const;  // merged segments, GT classes only (paper's text)
};

ImageScore score_image(const JointCounts& counts, const SegmentClasses& assignment, const Dataset& dataset);

// Dataset-level confusion counts, by class index.
struct PixelCounts {
    std::vector<int64_t> intersection, ground_truth, predicted;
    explicit PixelCounts(size_t classes = 0) : intersection(classes), ground_truth(classes), predicted(classes) {}
    void add(const JointCounts& counts, const SegmentClasses& assignment, const Dataset& dataset);
    double iou(size_t class_index) const;  // NaN when the class never occurs
    double mean_iou() const;               // over the classes that occur; NaN when none
};

// Recall thresholds τ_i = i · 0.01, i = 0..100 (as numpy.arange(0, 1.01, 0.01)).
constexpr int kRecallSteps = 101;
inline double recall_threshold(int i) { return i * 0.01; }

}  // namespace zgseg::eval
