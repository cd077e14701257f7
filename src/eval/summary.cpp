#include "eval/summary.hpp"

#include <cmath>

namespace zgseg::eval {

SegmentClasses apply_threshold(const std::vector<int>& segment_ids, const std::vector<Match>& matches, double threshold) {
    SegmentClasses out;
    for (size_t i = 0; i < segment_ids.size(); ++i) {
        const Match& m = matches.at(i);
        out[segment_ids[i]] = (m.class_index >= 0 && m.cosine >= threshold) ? m.class_index : -1;
    }
    return out;
}

double Summary::recall_at(double tau) const {
    const int i = static_cast<int>(std::lround(tau * 100.0));
    if (i < 0 || i >= static_cast<int>(recall_curve.size())) return kNaN;
    return recall_curve[static_cast<size_t>(i)];
}

double Summary::recall_mean() const {
    if (recall_curve.empty()) return kNaN;
    double sum = 0;
    for (double r : recall_curve) sum += r;
    return sum / double(recall_curve.size());
}

double Summary::recall_area() const {
    if (recall_curve.size() < 2) return kNaN;
    double area = 0;
    for (size_t i = 0; i + 1 < recall_curve.size(); ++i) area += 0.5 * (recall_curve[i] + recall_curve[i + 1]) * 0.01;
    return area;
}

Accumulator::Accumulator(const Dataset& dataset, Setting setting, bool keep_images)
    : dataset_(dataset),
      setting_(std::move(setting)),
      keep_images_(keep_images),
      class_sum_(dataset.classes.size(), 0.0),
      class_n_(dataset.classes.size(), 0),
      class_seen_(dataset.classes.size(), 0),
      pixels_(dataset.classes.size()) {
    for (int k = 0; k < 3; ++k) {
        recall_sum_[k].assign(kRecallSteps, 0.0);
        recall_n_[k].assign(kRecallSteps, 0);
    }
}

void Accumulator::add(const std::string& name, const JointCounts& counts, const SegmentClasses& assignment,
                      int segments) {
    const ImageScore score = score_image(counts, assignment, dataset_);
    pixels_.add(counts, assignment, dataset_);
    ++scored_;
    if (!std::isnan(score.mean_iou)) {
        iou_sum_ += score.mean_iou;
        ++iou_n_;
    }
    for (int i = 0; i < kRecallSteps; ++i) {
        const double tau = recall_threshold(i);
        const double r[3] = {score.recall(tau), score.recall_best_segment(tau), score.recall_ground_truth(tau)};
        for (int k = 0; k < 3; ++k)
            if (!std::isnan(r[k])) {
                recall_sum_[k][static_cast<size_t>(i)] += r[k];
                ++recall_n_[k][static_cast<size_t>(i)];
            }
    }
    for (const auto& c : score.classes) {
        const auto ci = static_cast<size_t>(c.class_index);
        ++class_seen_[ci];
        if (!std::isnan(c.iou)) {
            class_sum_[ci] += c.iou;
            ++class_n_[ci];
        }
    }
    if (keep_images_) {
        ImageRecord r;
        r.name = name;
        r.segments = segments;
        for (const auto& [segment, c] : assignment) r.assigned_segments += c >= 0;
        r.ground_truth_classes = score.ground_truth_classes();
        r.predicted_classes = score.predicted_classes();
        r.iou = score.mean_iou;
        r.recall = score.recall(0.5);
        r.recall_best_segment = score.recall_best_segment(0.5);
        r.recall_ground_truth = score.recall_ground_truth(0.5);
        images_.push_back(std::move(r));
    }
}

Summary Accumulator::summary() const {
    Summary s;
    s.setting = setting_;
    s.images = scored_;
    s.iou = iou_n_ ? iou_sum_ / iou_n_ : kNaN;
    s.dataset_iou = pixels_.mean_iou();
    std::vector<double>* curves[3] = {&s.recall_curve, &s.recall_best_segment_curve, &s.recall_ground_truth_curve};
    for (int k = 0; k < 3; ++k)
        for (int i = 0; i < kRecallSteps; ++i) {
            const auto n = recall_n_[k][static_cast<size_t>(i)];
            curves[k]->push_back(n ? recall_sum_[k][static_cast<size_t>(i)] / n : kNaN);
        }
    for (size_t c = 0; c < class_sum_.size(); ++c) {
        s.class_iou.push_back(class_n_[c] ? class_sum_[c] / class_n_[c] : kNaN);
        s.class_images.push_back(class_seen_[c]);
        s.class_dataset_iou.push_back(pixels_.iou(c));
    }
    return s;
}

}  // namespace zgseg::eval
