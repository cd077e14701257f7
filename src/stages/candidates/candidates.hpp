// Stage 1: segment candidates (paper §3.1; reference-notes §1–2).
//
//   image ─ PIL Lanczos, shorter side 224 ─ ImageNet norm ─ DINO ViT-S/8 keys
//   of the last block at stride 2 (109 × W' grid) ─ L2 norm ─ Ward tree over
//   all cells ─ top-down cut with cosine pruning ─ DenseCRF on the resized
//   image ─ leaf label map + the leaves' heap ids.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster/prune.hpp"
#include "cluster/ward.hpp"
#include "nets/vit.hpp"
#include "zgseg/params.hpp"

namespace zgseg {

struct Candidates {
    int work_width = 0, work_height = 0;  // the Lanczos-resized image
    std::vector<uint8_t> work_rgb;        // work_height × work_width × 3
    int grid_rows = 0, grid_cols = 0;     // DINO token grid
    std::vector<int32_t> leaf_map;        // work_height × work_width: leaf index per pixel
    std::vector<int64_t> leaf_heap_ids;   // heap id of each leaf (children of t: 2t+1, 2t+2)
    int leaves_emptied_by_crf = 0;        // leaves the CRF left without pixels (dropped)
    std::map<std::string, double> timings;
};

// The (width, height) torchvision's Resize(size) gives: shorter side = size,
// longer side = int(size · longer / shorter).
std::pair<int, int> shorter_side_resize(int width, int height, int size);

// Stage 1's steps after the keys, as CandidateStage::run takes them (the
// bench times each step on its own with the same functions).

// The Ward options: every LibTorch thread for the k-NN search (any count
// gives the same tree).
WardOptions candidate_ward_options();
PruneParams candidate_prune_params(const CandidateParams& params);

// The DenseCRF over the partition's k > 1 leaves on the resized image:
// unaries from the keys' similarity to each leaf centroid, the CRF kernels of
// `params` → each pixel's leaf (height × width). descriptors: (rows·cols, C).
std::vector<int32_t> crf_leaf_labels(const torch::Tensor& descriptors, int grid_rows, int grid_cols,
                                     const PrunedPartition& partition, const std::vector<uint8_t>& work_rgb, int width,
                                     int height, const CandidateParams& params);

// The CRF can empty a leaf. The reference then shifts later labels down and
// its tree ids fall out of step; this drops the empty leaf together with its
// heap id and renumbers the rest in order, so every leaf index keeps its own
// heap id. labels: each pixel's leaf in 0..K-1; leaf_heap_ids: K.
struct KeptLeaves {
    std::vector<int32_t> leaf_map;       // each pixel's leaf among the kept ones
    std::vector<int64_t> leaf_heap_ids;  // the kept leaves' heap ids
    int emptied = 0;                     // leaves dropped
};
KeptLeaves drop_empty_leaves(const std::vector<int32_t>& labels, const std::vector<int64_t>& leaf_heap_ids);

class CandidateStage {
public:
    CandidateStage(const DinoVit& dino, CandidateParams params) : dino_(dino), params_(params) {}

    // rgb: height × width × 3 uint8 (RGB order).
    Candidates run(const uint8_t* rgb, int width, int height) const;

    // The L2-normalised key descriptors of a resized image: (rows·cols, C).
    torch::Tensor descriptors(const std::vector<uint8_t>& work_rgb, int width, int height, int* rows, int* cols) const;

private:
    const DinoVit& dino_;
    CandidateParams params_;
};

}  // namespace zgseg
