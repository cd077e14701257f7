#include "eval/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "zgseg/error.hpp"

namespace zgseg::eval {

namespace {

// Distinct values of a CV_32S matrix, ascending.
std::vector<int> distinct_values(const cv::Mat& m) {
    std::set<int> values;
    for (int y = 0; y < m.rows; ++y) {
        const int32_t* row = m.ptr<int32_t>(y);
        int last = row[0] + 1;  // differs from row[0]
        for (int x = 0; x < m.cols; ++x)
            if (row[x] != last) values.insert(last = row[x]);
    }
    return {values.begin(), values.end()};
}

// value → position in `sorted` (values are known to be present).
size_t position(const std::vector<int>& sorted, int value) {
    return static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), value) - sorted.begin());
}

double nanmean(const std::vector<double>& values) {
    double sum = 0;
    int n = 0;
    for (double v : values)
        if (!std::isnan(v)) {
            sum += v;
            ++n;
        }
    return n ? sum / n : kNaN;
}

}  // namespace

JointCounts::JointCounts(const cv::Mat& ground_truth, const cv::Mat& segments) {
    CV_Assert(ground_truth.type() == CV_32S && segments.type() == CV_32S && !ground_truth.empty() && !segments.empty());
    const int H = ground_truth.rows, W = ground_truth.cols, h = segments.rows, w = segments.cols;
    gt_values_ = distinct_values(ground_truth);
    segment_ids_ = distinct_values(segments);
    counts_.assign(gt_values_.size() * segment_ids_.size(), 0);
    // Column lookup of the nearest-neighbour upsampling, computed once.
    std::vector<int> source_column(static_cast<size_t>(W));
    for (int x = 0; x < W; ++x) source_column[static_cast<size_t>(x)] = static_cast<int>(int64_t(x) * w / W);
    std::vector<size_t> gt_pos, seg_pos;
    for (int y = 0; y < H; ++y) {
        const int32_t* g = ground_truth.ptr<int32_t>(y);
        const int32_t* s = segments.ptr<int32_t>(static_cast<int>(int64_t(y) * h / H));
        // Consecutive pixels usually repeat: look positions up only on change.
        int last_g = g[0] + 1, last_s = s[0] + 1;
        size_t gi = 0, si = 0;
        for (int x = 0; x < W; ++x) {
            const int sv = s[source_column[static_cast<size_t>(x)]];
            if (g[x] != last_g) gi = position(gt_values_, last_g = g[x]);
            if (sv != last_s) si = position(segment_ids_, last_s = sv);
            ++counts_[gi * segment_ids_.size() + si];
        }
    }
}

int ImageScore::ground_truth_classes() const {
    return static_cast<int>(std::count_if(classes.begin(), classes.end(), [](const auto& c) { return c.in_ground_truth; }));
}

int ImageScore::predicted_classes() const {
    return static_cast<int>(std::count_if(classes.begin(), classes.end(), [](const auto& c) { return c.predicted; }));
}

double ImageScore::recall(double tau) const {
    if (classes.empty()) return kNaN;
    int hits = 0;
    for (const auto& c : classes) hits += c.iou >= tau;  // NaN compares false
    return double(hits) / double(classes.size());
}

double ImageScore::recall_best_segment(double tau) const {
    if (classes.empty()) return kNaN;
    int hits = 0;
    for (const auto& c : classes) hits += c.predicted && c.best_segment_iou >= tau;
    return double(hits) / double(classes.size());
}

double ImageScore::recall_ground_truth(double tau) const {
    int hits = 0, total = 0;
    for (const auto& c : classes)
        if (c.in_ground_truth) {
            ++total;
            hits += c.iou >= tau;
        }
    return total ? double(hits) / total : kNaN;
}

ImageScore score_image(const JointCounts& counts, const SegmentClasses& assignment, const Dataset& dataset) {
    const auto& gt_values = counts.gt_values();
    const auto& seg_ids = counts.segment_ids();
    const size_t n_classes = dataset.classes.size();

    // Which classes are scored: present in the ground truth ∪ predicted.
    std::vector<char> in_gt(n_classes, 0), predicted(n_classes, 0);
    for (int v : gt_values)
        if (int c = dataset.class_index(v); c >= 0) in_gt[static_cast<size_t>(c)] = 1;
    std::vector<std::vector<int>> segments_of(n_classes);
    for (const auto& [segment, c] : assignment)
        if (c >= 0) {
            if (static_cast<size_t>(c) >= n_classes) throw Error("internal: class index out of range");
            predicted[static_cast<size_t>(c)] = 1;
            segments_of[static_cast<size_t>(c)].push_back(segment);
        }

    // Per ground-truth value: is it removed from predictions of GT classes /
    // of classes absent from the GT?
    std::vector<char> removed_always(gt_values.size(), 0), removed_if_absent(gt_values.size(), 0);
    for (size_t gi = 0; gi < gt_values.size(); ++gi) {
        const int v = gt_values[gi];
        removed_always[gi] = dataset.ignore_value && v == *dataset.ignore_value;
        removed_if_absent[gi] = removed_always[gi] || (dataset.background_value && v == *dataset.background_value);
    }

    ImageScore score;
    std::vector<double> ious;
    for (size_t c = 0; c < n_classes; ++c) {
        if (!in_gt[c] && !predicted[c]) continue;
        ClassScore cs;
        cs.class_index = static_cast<int>(c);
        cs.in_ground_truth = in_gt[c];
        cs.predicted = predicted[c];
        const auto& removed = in_gt[c] ? removed_always : removed_if_absent;
        const int class_id = dataset.classes[c].id;

        int64_t gt_area = 0;
        for (size_t gi = 0; gi < gt_values.size(); ++gi)
            if (gt_values[gi] == class_id)
                for (size_t si = 0; si < seg_ids.size(); ++si) gt_area += counts.count(gi, si);

        // One segment's intersection with the class and its area after removal.
        auto segment_overlap = [&](int segment, int64_t& inter, int64_t& area) {
            inter = area = 0;
            const auto it = std::lower_bound(seg_ids.begin(), seg_ids.end(), segment);
            if (it == seg_ids.end() || *it != segment) return;  // no pixels in the label map
            const size_t si = static_cast<size_t>(it - seg_ids.begin());
            for (size_t gi = 0; gi < gt_values.size(); ++gi) {
                if (removed[gi]) continue;
                const int64_t n = counts.count(gi, si);
                area += n;
                if (gt_values[gi] == class_id) inter += n;
            }
        };
        auto iou_of = [](int64_t inter, int64_t uni) { return uni > 0 ? double(inter) / double(uni) : kNaN; };

        int64_t inter = 0, area = 0;
        double best = kNaN;
        for (int segment : segments_of[c]) {
            int64_t i = 0, a = 0;
            segment_overlap(segment, i, a);
            inter += i;  // segments are disjoint in a label map: the union's sums
            area += a;
            const double one = iou_of(i, a + gt_area - i);
            if (!std::isnan(one) && (std::isnan(best) || one > best)) best = one;
        }
        cs.intersection = inter;
        cs.union_pixels = area + gt_area - inter;
        cs.iou = iou_of(cs.intersection, cs.union_pixels);
        cs.best_segment_iou = predicted[c] ? best : -1.0;
        ious.push_back(cs.iou);
        score.classes.push_back(cs);
    }
    score.mean_iou = nanmean(ious);
    return score;
}

void PixelCounts::add(const JointCounts& counts, const SegmentClasses& assignment, const Dataset& dataset) {
    const auto& gt_values = counts.gt_values();
    const auto& seg_ids = counts.segment_ids();
    std::vector<int> class_of_segment(seg_ids.size(), -1);
    for (size_t si = 0; si < seg_ids.size(); ++si)
        if (const auto it = assignment.find(seg_ids[si]); it != assignment.end()) class_of_segment[si] = it->second;
    for (size_t gi = 0; gi < gt_values.size(); ++gi) {
        if (dataset.ignore_value && gt_values[gi] == *dataset.ignore_value) continue;
        const int gc = dataset.class_index(gt_values[gi]);
        for (size_t si = 0; si < seg_ids.size(); ++si) {
            const int64_t n = counts.count(gi, si);
            const int pc = class_of_segment[si];
            if (gc >= 0) ground_truth[static_cast<size_t>(gc)] += n;
            if (pc >= 0) predicted[static_cast<size_t>(pc)] += n;
            if (gc >= 0 && gc == pc) intersection[static_cast<size_t>(gc)] += n;
        }
    }
}

double PixelCounts::iou(size_t c) const {
    const int64_t uni = ground_truth[c] + predicted[c] - intersection[c];
    return uni > 0 ? double(intersection[c]) / double(uni) : kNaN;
}

double PixelCounts::mean_iou() const {
    std::vector<double> values;
    for (size_t c = 0; c < intersection.size(); ++c) values.push_back(iou(c));
    return nanmean(values);
}

}  // namespace zgseg::eval
