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
