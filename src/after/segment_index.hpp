// `zgseg index OUT`: every segment's CLIP image embedding of a batch gathered
// into one memory-mapped file, OUT/zgseg-index.safetensors, so a search reads
// one contiguous float16 matrix instead of one file per image.
//
// Tensors (rows of an image are contiguous, images in name order):
//   embeddings          F16 (N, D)  L2-normalised CLIP image embeddings
//   segment_ids         I32 (N)     id of each row's segment in its NAME.json
//   label_offsets       I64 (N+1)   into `labels` (UTF-8 bytes)
//   image_rows          I64 (M+1)   rows of image m: [image_rows[m], image_rows[m+1])
//   image_name_offsets  I64 (M+1)   into `image_names`
//   image_stamps        I64 (M, 4)  size and mtime (ns) of NAME.json and of
//                                   NAME.embeddings.safetensors when indexed
// Metadata: format "zgseg-index", version, clip_model (the config.json sha256
// recorded in the images' NAME.json), dim.
//
// The stamps make the index notice new, changed and removed outputs; a
// refresh re-reads only those and copies the other rows from the old index.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "after/batch_folder.hpp"

namespace zgseg::after {

std::filesystem::path index_path(const BatchFolder& batch);  // OUT/zgseg-index.safetensors

class SegmentIndex {
public:
    // Maps and validates the file; throws zgseg::Error naming it when it is not
    // a zgseg index or is inconsistent (then: delete it and run zgseg index OUT).
    static SegmentIndex open(const std::filesystem::path& path);

    size_t rows() const { return rows_; }
    size_t dim() const { return dim_; }
    size_t images() const { return names_.size(); }
    const std::string& clip_model() const { return clip_model_; }
    const uint16_t* embeddings() const { return embeddings_; }  // (rows, dim) float16 bits

    int segment_id(size_t row) const { return segment_ids_[row]; }
    std::string label(size_t row) const;
    size_t image_of_row(size_t row) const;
    const std::string& image_name(size_t image) const { return names_[image]; }
    size_t image_row_begin(size_t image) const { return static_cast<size_t>(image_rows_[image]); }
    size_t image_row_end(size_t image) const { return static_cast<size_t>(image_rows_[image + 1]); }
    FileStamp json_stamp(size_t image) const { return {stamps_[4 * image], stamps_[4 * image + 1]}; }
    FileStamp embeddings_stamp(size_t image) const { return {stamps_[4 * image + 2], stamps_[4 * image + 3]}; }
    // Index of an image by name, or -1.
    int64_t find_image(const std::string& name) const;

private:
    std::shared_ptr<const void> keep_;  // the mapping
    std::string clip_model_;
    size_t rows_ = 0, dim_ = 0;
    const uint16_t* embeddings_ = nullptr;
    const int32_t* segment_ids_ = nullptr;
    const int64_t* label_offsets_ = nullptr;
    const char* labels_ = nullptr;
    const int64_t* image_rows_ = nullptr;
    const int64_t* stamps_ = nullptr;
    std::vector<std::string> names_;  // sorted (the batch's order)
};

// How the index differs from the folder now.
struct Staleness {
    size_t added = 0, changed = 0, removed = 0;
    bool fresh() const { return added == 0 && changed == 0 && removed == 0; }
    std::string describe() const;  // "2 new, 1 changed, 0 removed images"
};
Staleness compare_with_batch(const SegmentIndex& index, const BatchFolder& batch);

struct IndexStats {
    size_t images = 0, rows = 0, reused_images = 0, read_images = 0;
    std::string clip_model;
};

// Writes the index of `batch` to `destination` atomically (replacing an
// older index). Rows of images unchanged since `previous` are copied from it.
// Throws zgseg::Error for a half-written or corrupt image (naming its file), or
// images made by different CLIP models.
IndexStats write_index(const BatchFolder& batch, const std::filesystem::path& destination, const SegmentIndex* previous);

// Embeddings straight from the batch's files (no index): the same rows, in
// float32. For a search without an index, and for measuring float16's cost.
struct LoadedSegments {
    std::vector<float> embeddings;  // (rows, dim), normalised
    size_t dim = 0;
    std::vector<std::string> image_names, labels;  // per row
    std::vector<int> segment_ids;
    std::string clip_model;
};
LoadedSegments load_segments(const BatchFolder& batch);

}  // namespace zgseg::after
