// The files zgseg writes for each image, in one list (README "Outputs"):
//
//   NAME.json                     schema-versioned description (schema/zgseg-output.schema.json);
//                                 written last, so its presence means the image was finished
//   NAME.png                      label map at the original size, value = segment id
//   NAME.embeddings.safetensors   CLIP image + caption text embedding per segment
//   NAME.overlay.jpg              the photo with segment colours, outlines and labels
//
// Everything that writes, checks, refuses, skips or removes an image's
// outputs iterates this list: the writers (io/outputs.cpp), --resume's
// checks (io/output_check.cpp), the batch's input scan (cli/batch_inputs.cpp),
// the runner's refusals (cli/image_runner.cpp), the batch-folder scan
// (after/batch_folder.cpp). Adding an output: README "Extending zgseg".
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace zgseg {

enum class OutputKind { Json, LabelMap, Embeddings, Overlay };

struct OutputFile {
    OutputKind kind;
    const char* suffix;    // appended to OUT/NAME
    const char* json_key;  // its name under NAME.json "files" (nullptr for NAME.json itself)
    bool image;            // an image file, which a batch over its own output folder must not take for a photo
};

// Every per-image output, NAME.json first.
const std::vector<OutputFile>& output_files();
const OutputFile& output_file(OutputKind kind);

// One image's output paths. base = OUT/NAME (no extension).
class OutputPaths {
public:
    explicit OutputPaths(std::filesystem::path base) : base_(std::move(base)) {}
    std::filesystem::path of(OutputKind kind) const { return base_.string() + output_file(kind).suffix; }
    std::filesystem::path json() const { return of(OutputKind::Json); }
    // Every output's path, in output_files() order.
    std::vector<std::filesystem::path> all() const;

private:
    std::filesystem::path base_;
};

inline OutputPaths output_paths(const std::filesystem::path& base) { return OutputPaths(base); }

}  // namespace zgseg
