// The project's CRF unary (reference-notes §2, run_dino_clustering_tree.py):
// per DINO grid cell and leaf k, the squared Euclidean distance between the
// cell's L2-normalised descriptor and the leaf centroid, minus the cell's
// maximum over k (values <= 0, lower = more likely), computed in float64,
// upsampled to the resized image with torch.nn.Upsample(mode='nearest') and
// cast to float32. It is passed to the CRF as the energy, unscaled.
#pragma once

#include <vector>

namespace zgseg::densecrf {

// Source index of nearest-neighbour upsampling from in_size to out_size:
// floor(dst * in_size / out_size), computed exactly in integers.
// torch.nn.Upsample(mode='nearest') computes it in floating point; the two
// agree for the project's DINO grid geometry (grid 1+(L-8)//2 → L; checked
// against torch by the tests), but can differ by one at exact-integer
// boundaries for some other size pairs.
int nearest_source_index(int dst, int in_size, int out_size);

// grid: (in_h, in_w, channels) row-major; returns (out_h, out_w, channels).
std::vector<float> upsample_nearest(const std::vector<float>& grid, int in_h, int in_w, int channels, int out_h,
                                    int out_w);

// descriptors: (grid_h*grid_w, dim) row-major; centroids: (num_labels, dim)
// row-major float64 (the reference keeps the leaf means in float64).
// Returns (grid_h*grid_w, num_labels): ‖desc − c_k‖² − max_k ‖desc − c_k‖², in float64.
std::vector<double> grid_unary(const float* descriptors, int grid_h, int grid_w, int dim, const double* centroids,
                               int num_labels);

// grid_unary cast to float32 and upsampled to (out_h, out_w): (out_h*out_w, num_labels),
// ready for DenseCrf::set_unary_energy / dense_crf.
std::vector<float> cluster_unary(const float* descriptors, int grid_h, int grid_w, int dim, const double* centroids,
                                 int num_labels, int out_h, int out_w);

}  // namespace zgseg::densecrf
