// A batch output folder as `zgseg batch SRC -o OUT` leaves it (README
// "Outputs"): per image NAME.json, NAME.png, NAME.embeddings.safetensors and
// NAME.overlay.jpg (NAME may hold sub-folders), plus summary.json or
// summary-shard-I.json. This is what `zgseg report`, `search`, `index` and
// `export` read; none of them ever writes over one of these files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zgseg::after {

// Size and modification time (ns) of a file; {-1, -1} when it is missing.
struct FileStamp {
    int64_t size = -1;
    int64_t mtime_ns = -1;
    bool operator==(const FileStamp& o) const { return size == o.size && mtime_ns == o.mtime_ns; }
    bool operator!=(const FileStamp& o) const { return !(*this == o); }
};
FileStamp file_stamp(const std::filesystem::path& path);

struct BatchImage {
    std::string name;  // OUT-relative base with '/' separators, no extension
    std::filesystem::path json, embeddings, overlay, label_map;
    FileStamp json_stamp, embeddings_stamp;
};

struct BatchFolder {
    std::filesystem::path root;
    std::vector<BatchImage> images;            // sorted by name
    std::vector<std::filesystem::path> summaries;  // summary.json, summary-shard-I.json
    nlohmann::json failures = nlohmann::json::array();  // {"input", "error"} from the summaries

    // True when `path` is one of the files above (never to be written over).
    bool is_input(const std::filesystem::path& path) const;
};

// Finds every image of the batch in `out` (recursively). An image is a base
// that has NAME.json next to NAME.embeddings.safetensors or NAME.overlay.jpg;
// other files are ignored. Throws zgseg::Error when `out` is missing or not a
// folder, holds no zgseg output, or an image is half-written (its other files
// exist without NAME.json).
BatchFolder scan_batch(const std::filesystem::path& out);

// NAME.json parsed and checked (schema_version 1, a segments array). Throws
// zgseg::Error naming the file when it is truncated or not a zgseg output.
nlohmann::json read_image_json(const BatchImage& image);

// The CLIP model that made an image: its config.json sha256 as recorded in
// NAME.json "models" ("" when not recorded).
std::string recorded_clip_model(const nlohmann::json& doc);

// Throws zgseg::Error when `destination` is an input of the batch: outputs of
// these commands never replace a file the batch wrote, even with --overwrite.
void refuse_input_destination(const BatchFolder& batch, const std::filesystem::path& destination);

}  // namespace zgseg::after
