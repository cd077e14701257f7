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

WardOptions candidate_ward_options() {
    WardOptions options;
    options.threads = std::max(1, torch::get_num_threads());
    return options;
}

PruneParams candidate_prune_params(const CandidateParams& params) {
    PruneParams p;
    p.max_splits = params.max_splits;
    p.threshold = params.prune_threshold;
    return p;
}

std::vector<int32_t> crf_leaf_labels(const torch::Tensor& descriptors, int grid_rows, int grid_cols,
                                     const PrunedPartition& partition, const std::vector<uint8_t>& work_rgb, int width,
                                     int height, const CandidateParams& params) {
    const int k = static_cast<int>(partition.leaf_count());
    const auto unary = densecrf::cluster_unary(descriptors.data_ptr<float>(), grid_rows, grid_cols,
                                               static_cast<int>(descriptors.size(1)), partition.leaf_centroids.data(),
                                               k, height, width);
    densecrf::CrfParams crf;
    crf.gaussian_sxy = params.crf_gaussian_sxy;
    crf.gaussian_compat = params.crf_gaussian_compat;
    crf.bilateral_sxy = params.crf_bilateral_sxy;
    crf.bilateral_srgb = params.crf_bilateral_srgb;
    crf.bilateral_compat = params.crf_bilateral_compat;
    crf.iterations = params.crf_iterations;
    return densecrf::dense_crf(unary.data(), k, work_rgb.data(), height, width, crf).labels;
}

KeptLeaves drop_empty_leaves(const std::vector<int32_t>& labels, const std::vector<int64_t>& leaf_heap_ids) {
    const size_t k = leaf_heap_ids.size();
    std::vector<int64_t> pixels(k, 0);
    for (int32_t l : labels) ++pixels[static_cast<size_t>(l)];
    KeptLeaves kept;
    std::vector<int32_t> new_index(k, -1);
    for (size_t i = 0; i < k; ++i) {
        if (pixels[i] == 0) {
            ++kept.emptied;
            continue;
        }
        new_index[i] = static_cast<int32_t>(kept.leaf_heap_ids.size());
        kept.leaf_heap_ids.push_back(leaf_heap_ids[i]);
    }
    kept.leaf_map.resize(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) kept.leaf_map[i] = new_index[static_cast<size_t>(labels[i])];
    return kept;
}

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
    const auto merges = ward_linkage(desc.data_ptr<float>(), n, d, candidate_ward_options());
    out.timings["ward"] = seconds_since(start);

    start = SteadyClock::now();
    const auto partition = prune_tree(merges, desc.data_ptr<float>(), n, d, candidate_prune_params(params_));
    out.timings["prune"] = seconds_since(start);
    const int k = static_cast<int>(partition.leaf_count());

    start = SteadyClock::now();
    std::vector<int32_t> labels;
    if (params_.crf && k > 1) {
        labels = crf_leaf_labels(desc, out.grid_rows, out.grid_cols, partition, out.work_rgb, w, h, params_);
    } else {
        // Without the CRF: the grid's leaf labels, upsampled (nearest) to the resized image.
        std::vector<float> grid(partition.leaf_of_cell.begin(), partition.leaf_of_cell.end());
        const auto up = densecrf::upsample_nearest(grid, out.grid_rows, out.grid_cols, 1, h, w);
        labels.assign(up.begin(), up.end());
    }
    out.timings["crf"] = seconds_since(start);

    auto kept = drop_empty_leaves(labels, partition.leaf_heap_ids);
    out.leaf_map = std::move(kept.leaf_map);
    out.leaf_heap_ids = std::move(kept.leaf_heap_ids);
    out.leaves_emptied_by_crf = kept.emptied;
    return out;
}

}  // namespace zgseg
