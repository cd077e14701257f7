// Label-map PNGs (eval's ground truth, and a prediction's label map):
// read_label_png on arbitrary bytes, then the ground-truth checks of PAS-20
// and PC-459 and the per-class segments of what they accept.
#include "eval/dataset.hpp"
#include "fuzz.hpp"
#include "io/label_png.hpp"

using namespace zgseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const eval::Dataset voc = eval::make_dataset("voc20");
    static const eval::Dataset pc = eval::make_dataset("pc459");
    const auto path = fuzz::write_file("label.png", data, size);
    fuzz::expect_errors([&] {
        const cv::Mat labels = read_label_png(path);
        if (labels.type() != CV_32S || labels.empty()) std::abort();
        for (const eval::Dataset* d : {&voc, &pc}) {
            fuzz::expect_errors([&] {
                const cv::Mat gt = eval::read_ground_truth(path, *d);
                for (const auto& s : eval::ground_truth_segments(gt, *d))
                    if (s.mask.size() != gt.size() || cv::countNonZero(s.mask) == 0) std::abort();
            });
        }
    });
    return 0;
}
