#include "cluster/densecrf/cluster_unary.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include "zgseg/error.hpp"

namespace zgseg::densecrf {

int nearest_source_index(int dst, int in_size, int out_size) {
    const int64_t src = static_cast<int64_t>(dst) * in_size / out_size;
    return static_cast<int>(std::min<int64_t>(src, in_size - 1));
}

std::vector<float> upsample_nearest(const std::vector<float>& grid, int in_h, int in_w, int channels, int out_h,
                                    int out_w) {
    if (in_h <= 0 || in_w <= 0 || channels <= 0 || out_h <= 0 || out_w <= 0 ||
        grid.size() != static_cast<std::size_t>(in_h) * in_w * channels)
        throw Error("nearest upsampling: grid of " + std::to_string(grid.size()) + " values does not match " +
                    std::to_string(in_h) + "x" + std::to_string(in_w) + "x" + std::to_string(channels) +
                    " or the output size " + std::to_string(out_h) + "x" + std::to_string(out_w) + " is empty");
    std::vector<int> column(out_w);
    for (int x = 0; x < out_w; ++x) column[x] = nearest_source_index(x, in_w, out_w);
    std::vector<float> out(static_cast<std::size_t>(out_h) * out_w * channels);  // (out_h, out_w, C)
    float* dst = out.data();
    for (int y = 0; y < out_h; ++y) {
        const float* row = grid.data() + static_cast<std::size_t>(nearest_source_index(y, in_h, out_h)) * in_w * channels;
        for (int x = 0; x < out_w; ++x, dst += channels) {
            const float* src = row + static_cast<std::size_t>(column[x]) * channels;
            std::copy(src, src + channels, dst);
        }
    }
    return out;
}

std::vector<double> grid_unary(const float* descriptors, int grid_h, int grid_w, int dim, const double* centroids,
                               int num_labels) {
    if (descriptors == nullptr || centroids == nullptr || grid_h <= 0 || grid_w <= 0 || dim <= 0 || num_labels <= 0)
        throw Error("CRF unary: need a non-empty descriptor grid and at least one centroid (got grid " +
                    std::to_string(grid_h) + "x" + std::to_string(grid_w) + ", dim " + std::to_string(dim) +
                    ", " + std::to_string(num_labels) + " centroids)");
    const std::size_t cells = static_cast<std::size_t>(grid_h) * grid_w;
    std::vector<double> unary(cells * num_labels);  // (cells, K)
    for (std::size_t cell = 0; cell < cells; ++cell) {
        const float* desc = descriptors + cell * dim;
        double* row = unary.data() + cell * num_labels;
        for (int k = 0; k < num_labels; ++k) {
            const double* c = centroids + static_cast<std::size_t>(k) * dim;
            double dist = 0.0;
            for (int i = 0; i < dim; ++i) {
                const double diff = static_cast<double>(desc[i]) - c[i];
                dist += diff * diff;
            }
            row[k] = dist;
        }
        const double top = *std::max_element(row, row + num_labels);
        for (int k = 0; k < num_labels; ++k) row[k] -= top;
    }
    return unary;
}

std::vector<float> cluster_unary(const float* descriptors, int grid_h, int grid_w, int dim, const double* centroids,
                                 int num_labels, int out_h, int out_w) {
    const std::vector<double> grid = grid_unary(descriptors, grid_h, grid_w, dim, centroids, num_labels);
    // Nearest upsampling copies values, so casting before it equals the reference's cast after.
    const std::vector<float> grid_f(grid.begin(), grid.end());
    return upsample_nearest(grid_f, grid_h, grid_w, num_labels, out_h, out_w);
}

}  // namespace zgseg::densecrf
