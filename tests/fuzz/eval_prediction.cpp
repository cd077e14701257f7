// eval's prediction reader: OUT/NAME.json on arbitrary bytes, beside a valid
// 24x16 label map (ids 0..3) and an embeddings file (segments 1..3), then the
// joint counts against a 32x20 ground truth (a size mismatch is resized)
// and the image embeddings the JSON points at.
#include <opencv2/core.hpp>

#include "core/safetensors.hpp"
#include "eval/metrics.hpp"
#include "eval/prediction.hpp"
#include "fuzz.hpp"
#include "io/label_png.hpp"

using namespace zgseg;

namespace {

std::filesystem::path prepare() {
    const auto dir = fuzz::scratch_dir() / "pred";
    std::filesystem::create_directories(dir);
    cv::Mat labels(16, 24, CV_32S);
    for (int y = 0; y < labels.rows; ++y)
        for (int x = 0; x < labels.cols; ++x) labels.at<int>(y, x) = (x / 6 + y / 8) % 4;
    write_label_png(dir / "p.png", labels, /*overwrite=*/true);
    const float values[4] = {1, 2, 3, 4};
    std::vector<TensorView> tensors;
    for (int id = 1; id <= 3; ++id)
        tensors.push_back({"segment/" + std::to_string(id) + "/image", DType::F32, {4},
                           reinterpret_cast<const uint8_t*>(values), sizeof values});
    const std::string file = serialize_safetensors(tensors);
    fuzz::write_file("pred/p.embeddings.safetensors", reinterpret_cast<const uint8_t*>(file.data()), file.size());
    return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::filesystem::path dir = prepare();
    static const cv::Mat gt = [] {
        cv::Mat m(20, 32, CV_32S);
        for (int i = 0; i < m.rows * m.cols; ++i) m.at<int>(i) = i % 3 == 0 ? 255 : i % 21;
        return m;
    }();
    fuzz::write_file("pred/p.json", data, size);
    fuzz::expect_errors([&] {
        const auto p = eval::read_prediction(dir, "p");
        if (!p) std::abort();  // the file exists
        const eval::JointCounts counts(gt, p->label_map);
        int64_t total = 0;
        for (size_t g = 0; g < counts.gt_values().size(); ++g)
            for (size_t s = 0; s < counts.segment_ids().size(); ++s) total += counts.count(g, s);
        if (total != gt.rows * gt.cols) std::abort();
        fuzz::expect_errors([&] {
            const auto vectors = eval::read_image_embeddings(*p);
            if (vectors.size() != p->segments.size()) std::abort();
        });
    });
    return 0;
}
