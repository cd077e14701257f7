// Label maps as PNG files: one integer per pixel (the segment id), not a
// colour. Ids ≤ 255 are written as an 8-bit palette PNG whose palette is the
// VOC colour map (so viewers show coloured regions while tools read the
// indices); larger ids as 16-bit grayscale. The reader returns raw indices
// for palette and grayscale PNGs alike, so it also reads PASCAL VOC / Context
// ground truth (255 = "ignore" stays 255).
#pragma once

#include <filesystem>

#include <opencv2/core.hpp>

namespace zgseg {

// labels: h×w CV_32S (or CV_8U / CV_16U), values 0..65535. Written at
// `output_size` (W×H) by nearest-neighbour upsampling — source row
// floor(y·h/H), column floor(x·w/W) — one row at a time, so the full-size
// map is never held in memory. Atomic (temporary file + rename); refuses to
// replace an existing file unless `overwrite`.
void write_label_png(const std::filesystem::path& path, const cv::Mat& labels, cv::Size output_size,
                     bool overwrite);

// Same, at the labels' own size.
inline void write_label_png(const std::filesystem::path& path, const cv::Mat& labels, bool overwrite) {
    write_label_png(path, labels, labels.size(), overwrite);
}

// -> H×W CV_32S indices. Throws zgseg::Error for missing files, RGB/RGBA PNGs
// (colours, not indices), and corrupt or truncated files.
cv::Mat read_label_png(const std::filesystem::path& path);

}  // namespace zgseg
