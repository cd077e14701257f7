#include "stages/candidates/candidates.hpp"

#include "cluster/densecrf/cluster_unary.hpp"
#include "cluster/densecrf/densecrf.hpp"
#include "cluster/prune.hpp"
#include "cluster/ward.hpp"
#include "core/timing.hpp"
#include "io/resample.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

namespace {

constexpr float kImageNetMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kImageNetStd[3] = {0.229f, 0.224f, 0.225f};

}  // namespace

std::pair<int, int> shorter_side_resize(int width, int height, int size) {
    if (width <= height) return {size, static_cast<int>(static_cast<double>(size) * height / width)};
    return {static_cast<int>(static_cast<double>(size) * width / height), size};
}

torch::Tensor CandidateStage::descriptors(const std::vector<uint8_t>& work_rgb, int width, int height, int* rows,
                                          int* cols) const {
    torch::NoGradGuard no_grad;
    // (H, W, 3) uint8 → (1, 3, H, W) ImageNet-normalised
    auto image = torch::from_blob(const_cast<uint8_t*>(work_rgb.data()), {height, width, 3}, torch::kUInt8)
                     .to(torch::kFloat32)
                     .div(255.0)
                     .permute({2, 0, 1});
    const auto mean = torch::tensor({kImageNetMean[0], kImageNetMean[1], kImageNetMean[2]}).view({3, 1, 1});
    const auto std = torch::tensor({kImageNetStd[0], kImageNetStd[1], kImageNetStd[2]}).view({3, 1, 1});
    image = ((image - mean) / std).unsqueeze(0).contiguous();

    const auto grid = dino_.grid(height, width, params_.dino_stride);
    *rows = static_cast<int>(grid.rows);
    *cols = static_cast<int>(grid.cols);
    auto keys = dino_.last_block_keys(image, params_.dino_stride);  // (rows·cols, C)
    // L2 normalisation per location (the reference's faiss.normalize_L2).
    keys = torch::nn::functional::normalize(keys.to(torch::kCPU, torch::kFloat32),
                                            torch::nn::functional::NormalizeFuncOptions().dim(1));
    return keys.contiguous();
}

Candidates CandidateStage::run(const uint8_t* rgb, int width, int height) const {
    Candidates out;
    auto start = SteadyClock::now();
    const auto [w, h] = shorter_side_resize(width, height, params_.dino_size);
    out.work_width = w;
    out.work_height = h;
    out.work_rgb = resize_like_pil(rgb, width, height, w, h, ResampleFilter::Lanczos);
    out.timings["resize"] = seconds_since(start);

    start = SteadyClock::now();
    const auto desc = descriptors(out.work_rgb, w, h, &out.grid_rows, &out.grid_cols);
    const int64_t n = desc.size(0), d = desc.size(1);
    out.timings["features"] = seconds_since(start);

    start = SteadyClock::now();
    WardOptions ward_options;
    ward_options.threads = std::max(1, torch::get_num_threads());  // the same result for any thread count
    const auto merges = ward_linkage(desc.data_ptr<float>(), n, d, ward_options);
    out.timings["ward"] = seconds_since(start);

    start = SteadyClock::now();
    PruneParams prune_params;
    prune_params.max_splits = params_.max_splits;
    prune_params.threshold = params_.prune_threshold;
    const auto partition = prune_tree(merges, desc.data_ptr<float>(), n, d, prune_params);
    out.timings["prune"] = seconds_since(start);
    const int k = static_cast<int>(partition.leaf_heap_ids.size());

    start = SteadyClock::now();
    std::vector<int32_t> labels;
    if (params_.crf && k > 1) {
        const auto unary = densecrf::cluster_unary(desc.data_ptr<float>(), out.grid_rows, out.grid_cols,
                                                   static_cast<int>(d), partition.leaf_centroids.data(), k, h, w);
        densecrf::CrfParams crf;
        crf.gaussian_sxy = params_.crf_gaussian_sxy;
        crf.gaussian_compat = params_.crf_gaussian_compat;
        crf.bilateral_sxy = params_.crf_bilateral_sxy;
        crf.bilateral_srgb = params_.crf_bilateral_srgb;
        crf.bilateral_compat = params_.crf_bilateral_compat;
        crf.iterations = params_.crf_iterations;
        labels = densecrf::dense_crf(unary.data(), k, out.work_rgb.data(), h, w, crf).labels;
    } else {
        // Without the CRF: the grid's leaf labels, upsampled (nearest) to the resized image.
        std::vector<float> grid(partition.leaf_of_cell.begin(), partition.leaf_of_cell.end());
        const auto up = densecrf::upsample_nearest(grid, out.grid_rows, out.grid_cols, 1, h, w);
        labels.assign(up.begin(), up.end());
    }
    out.timings["crf"] = seconds_since(start);

    // The CRF can empty a leaf. The reference then shifts later labels down
    // and its tree ids fall out of step; we drop the empty leaf together with
    // its heap id and renumber the rest in order, so every leaf index keeps
    // its own heap id.
    std::vector<int64_t> pixels(k, 0);
    for (int32_t l : labels) ++pixels[l];
    std::vector<int32_t> new_index(k, -1);
    for (int i = 0; i < k; ++i) {
        if (pixels[i] == 0) {
            ++out.leaves_emptied_by_crf;
            continue;
        }
        new_index[i] = static_cast<int32_t>(out.leaf_heap_ids.size());
        out.leaf_heap_ids.push_back(partition.leaf_heap_ids[i]);
    }
    out.leaf_map.resize(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) out.leaf_map[i] = new_index[labels[i]];
    return out;
}

}  // namespace zgseg
