// What `batch --resume` checks before it counts an image complete (README
// "Resume"): each of the four outputs is whole and belongs to this run.
//
//   NAME.json                    parses; the schema's required fields; made from
//                                the input as it is now (size + mtime recorded in
//                                the JSON, SHA-256 only when those differ); made
//                                with this run's parameters and models
//   NAME.png                     a whole PNG: signature, every chunk's CRC, IHDR
//                                first with the size the JSON states, IEND last
//   NAME.embeddings.safetensors  a valid header holding every tensor the JSON names
//   NAME.overlay.jpg             starts with SOI, ends with EOI
//
// Cheap by design: no pixel is decoded; the JSON is the only file read whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zgseg {

// What this run would record in NAME.json: outputs made otherwise are redone.
struct ExpectedRun {
    nlohmann::json parameters;  // NAME.json "parameters", compared whole
    nlohmann::json models;      // NAME.json "models": each network's config_sha256 is compared ("folder" is not)
};

struct OutputCheck {
    enum class Verdict {
        Complete,       // all four files whole and made by this run's settings from this input
        Missing,        // no NAME.json: never finished (other files may be left from a stopped run)
        Invalid,        // a file is damaged, or the input changed since
        OtherSettings,  // whole, but made with other parameters or models
    };
    Verdict verdict = Verdict::Missing;
    std::filesystem::path file;  // the file that failed (Invalid, OtherSettings)
    std::string problem;         // which check, in words

    bool complete() const { return verdict == Verdict::Complete; }
};

// base = OUT/NAME (no extension); `input` is the image NAME.json must have been made from.
OutputCheck check_outputs(const std::filesystem::path& base, const std::filesystem::path& input,
                          const ExpectedRun& expected);

// The cheap identity of an input file that NAME.json records ("size_bytes",
// "mtime_ns") so a later --resume can tell it is unchanged without hashing it.
struct InputStamp {
    int64_t size_bytes = -1;
    int64_t mtime_ns = -1;
};
InputStamp input_stamp(const std::filesystem::path& path);  // {-1, -1} when it cannot be read

// NAME.json's "input", "models" and "parameters" only, read from the head of
// the file (zgseg writes its keys in sorted order, so these come before the
// segments, which are most of the file); a file written otherwise is read
// whole. Throws zgseg::Error when the file cannot be read or parsed.
nlohmann::json read_output_head(const std::filesystem::path& json_path);

// The structural checks, one file each: "" when whole, else the problem in words.
std::string png_problem(const std::filesystem::path& path, int64_t expected_width, int64_t expected_height);
std::string jpeg_problem(const std::filesystem::path& path);
// Every tensor in `names` (a JSON array of strings) is present in the file's valid header.
std::string safetensors_problem(const std::filesystem::path& path, const std::vector<std::string>& names);
// The required fields of schema/zgseg-output.schema.json (top level, "input", each segment).
std::string output_json_problem(const nlohmann::json& doc);

}  // namespace zgseg
