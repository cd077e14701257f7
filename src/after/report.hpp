// `zgseg report OUT`: one self-contained HTML page for a batch folder. It
// needs no server and no network: data, script and style are inline, the
// overlay JPEGs are referenced by relative path with loading="lazy", and a
// Content-Security-Policy (hashes of the one script and style, images only
// from files) forbids every other request. Masks stay COCO RLE strings in the
// page and are decoded in JavaScript only when an image's view opens.
//
// Page state lives in the URL fragment, so views can be bookmarked (and
// tested with a headless browser): #q=TEXT filters labels, #image=NAME opens
// an image, &segment=ID highlights one of its segments.
#pragma once

#include <filesystem>
#include <string>

#include "after/batch_folder.hpp"

namespace zgseg::after {

struct ReportStats {
    size_t images = 0, segments = 0, failures = 0;
};

// The page for `batch`, to be written at `html_path` (the overlay links are
// relative to its folder). Throws zgseg::Error for an unreadable NAME.json.
std::string report_html(const BatchFolder& batch, const std::filesystem::path& html_path, ReportStats* stats = nullptr);

// The page's fixed parts (report_page.cpp).
extern const char* const kReportCss;
extern const char* const kReportJs;

}  // namespace zgseg::after
