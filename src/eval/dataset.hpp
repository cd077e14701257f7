// The evaluation datasets of the paper (§5): PASCAL VOC 2012 val (PAS-20) and
// PASCAL-Context val with its full label set (PC-459) or the usual 59-class
// subset (PC-59). What a dataset is, for scoring: its class list (ids as in the
// ground-truth label maps), which value is "ignore", which is "background",
// and where its images and label maps live.
//
// Data folder layout (scripts/prepare_eval_data.py makes it from the public
// archives; README "Evaluation"):
//   DIR/JPEGImages/NAME.jpg          the photos
//   DIR/SegmentationClass/NAME.png   label maps: VOC palette PNGs, or for
//                                    PASCAL-Context 16-bit PNGs of the 459 ids
//   DIR/val.txt                      optional: the image names to score, one a
//                                    line (else every PNG in SegmentationClass)
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace zgseg::eval {

struct DatasetClass {
    int id = 0;        // value in the ground-truth label maps
    std::string name;  // the text that reassignment compares captions with
};

// Reads "ID: NAME" lines (blank lines and '#' comments skipped). Throws
// zgseg::Error naming the file and line for a missing file, a malformed line,
// a duplicate id or name, or an empty list.
std::vector<DatasetClass> read_class_file(const std::filesystem::path& path);

struct Dataset {
    std::string key;                      // "voc20", "pc59", "pc459"
    std::string title;                    // "PAS-20", "PC-59", "PC-459" (the paper's names)
    std::vector<DatasetClass> classes;    // the classes that count, in id order
    std::optional<int> ignore_value;      // VOC 255: scored as neither GT nor prediction
    std::optional<int> background_value;  // VOC 0: see metrics.hpp
    int max_class_id = 0;                 // class ids are 1..max_class_id (20 or 459)

    // Index into `classes` of a label value, or -1 when it is no class
    // (background, ignore, PC "unknown", a PC class outside the 59, ...).
    int class_index(int value) const;

private:
    friend Dataset make_dataset(const std::string&, const std::filesystem::path&);
    std::vector<int> index_of_value_;
};

// key: voc20 | pc59 | pc459. classes_file: empty for the bundled list
// (models/classes/KEY.txt). The names "unknown", "bg" and "amb" never count as
// classes, as in the paper's evaluation code. Throws zgseg::UsageError for an
// unknown key; zgseg::Error for a bad class file or ids beyond the dataset's.
Dataset make_dataset(const std::string& key, const std::filesystem::path& classes_file = {});

// The bundled class list of a dataset key.
std::filesystem::path bundled_class_file(const std::string& key);

// Ground truth of one image: H×W CV_32S label values, each 0..max_class_id or
// the ignore value. Throws zgseg::Error for an unreadable file or any other
// value (naming the value, its pixel and the file).
cv::Mat read_ground_truth(const std::filesystem::path& png, const Dataset& dataset);

// One ground-truth segment for Text Generation Quality: the region of one
// class in one image.
struct GroundTruthSegment {
    int class_index = -1;  // into Dataset::classes
    cv::Mat mask;          // CV_8U, 1 inside, the ground truth's size
};

// Every class present in `gt` (from read_ground_truth), in id order; pixels of
// background, ignore and non-class values belong to no segment, as in the
// metrics.
std::vector<GroundTruthSegment> ground_truth_segments(const cv::Mat& gt, const Dataset& dataset);

// The image names (no extension) to score, in natural sort order ("img2"
// before "img10"), the first `limit` of them when limit > 0. Throws
// zgseg::Error when DIR/SegmentationClass is missing or holds nothing.
std::vector<std::string> list_images(const std::filesystem::path& data_dir, int limit);

// Natural order: digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b);

}  // namespace zgseg::eval
