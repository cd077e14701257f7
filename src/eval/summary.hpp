// Averaging the per-image scores of metrics.hpp over a dataset, for one
// reassignment setting (text-to-text or segment-to-text, and its threshold).
#pragma once

#include <string>
#include <vector>

#include "eval/dataset.hpp"
#include "eval/metrics.hpp"

namespace zgseg::eval {

// A segment's best dataset class under one reassignment, and its cosine.
struct Match {
    int class_index = -1;
    double cosine = kNaN;
};

// Segment id → class index, -1 where the best cosine is below `threshold`
// (a score equal to the threshold is kept, as in the reference).
SegmentClasses apply_threshold(const std::vector<int>& segment_ids, const std::vector<Match>& matches, double threshold);

struct Setting {
    std::string reassign;    // "tt" (Sentence-BERT, caption vs class name) or "st" (CLIP, segment vs "Image of a {class}.")
    double threshold = 0.0;  // a segment whose best cosine is below it is dropped
};

// One image's row in the reports (recalls at τ_IoU = 0.5).
struct ImageRecord {
    std::string name;
    int segments = 0;           // predicted segments
    int assigned_segments = 0;  // those that passed the threshold
    int ground_truth_classes = 0, predicted_classes = 0;
    double iou = kNaN, recall = kNaN, recall_best_segment = kNaN, recall_ground_truth = kNaN;
};

struct Summary {
    Setting setting;
    int images = 0;              // images scored
    double iou = kNaN;           // mean over images of the per-image IoU (the paper's IoU)
    double dataset_iou = kNaN;   // confusion-count mIoU (standard protocol)
    std::vector<double> recall_curve, recall_best_segment_curve, recall_ground_truth_curve;  // at τ_i, kRecallSteps points
    std::vector<double> class_iou;          // by class index: mean of its per-image IoUs; NaN if never scored
    std::vector<int> class_images;          // images in which the class was scored
    std::vector<double> class_dataset_iou;  // by class index, from the confusion counts

    double recall_at(double tau) const;  // nearest grid point
    double recall_mean() const;          // mean over the τ grid
    double recall_area() const;          // trapezoid area under the curve (dx = 0.01)
};

class Accumulator {
public:
    // keep_images: also keep one ImageRecord per image (the sweeps don't).
    Accumulator(const Dataset& dataset, Setting setting, bool keep_images);

    // assignment: segment id → class index or -1; segments = predicted segment count.
    void add(const std::string& name, const JointCounts& counts, const SegmentClasses& assignment, int segments);

    Summary summary() const;
    const std::vector<ImageRecord>& images() const { return images_; }
    const Setting& setting() const { return setting_; }

private:
    const Dataset& dataset_;
    Setting setting_;
    bool keep_images_;
    std::vector<ImageRecord> images_;
    int scored_ = 0;
    double iou_sum_ = 0;
    int iou_n_ = 0;
    // Sums and counts of the per-image recalls at each τ (NaN images left out).
    std::vector<double> recall_sum_[3];
    std::vector<int> recall_n_[3];
    std::vector<double> class_sum_;
    std::vector<int> class_n_, class_seen_;
    PixelCounts pixels_;
};

}  // namespace zgseg::eval
