#include "io/overlay.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <unordered_map>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "io/ascii_text.hpp"
#include "io/atomic_file.hpp"
#include "io/palette.hpp"
#include "zgseg/error.hpp"

namespace zgseg {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kWhite(255, 255, 255);

struct TextStyle {
    double scale;
    int thickness;
    int padding;
};

TextStyle text_style(double scale) {
    const int thickness = std::max(1, static_cast<int>(std::lround(scale * 1.5)));
    return {scale, thickness, std::max(2, static_cast<int>(std::lround(scale * 6)))};
}

cv::Size text_size(const std::string& text, const TextStyle& style, int* baseline = nullptr) {
    int base = 0;
    const cv::Size size = cv::getTextSize(text, kFont, style.scale, style.thickness, &base);
    if (baseline != nullptr) *baseline = base;
    return size;
}

// Shortens `text` with "..." until it is at most `max_width` pixels wide.
std::string fit_text(std::string text, int max_width, const TextStyle& style) {
    if (text_size(text, style).width <= max_width) return text;
    while (!text.empty() && text_size(text + "...", style).width > max_width) text.pop_back();
    return text.empty() ? std::string() : text + "...";
}

void blend_rect(cv::Mat& image, cv::Rect rect, const cv::Scalar& colour, double opacity) {
    rect &= cv::Rect(0, 0, image.cols, image.rows);
    if (rect.empty()) return;
    cv::Mat roi = image(rect);
    cv::Mat fill(roi.size(), roi.type(), colour);
    cv::addWeighted(fill, opacity, roi, 1.0 - opacity, 0.0, roi);
}

// Box of `text` with padding; its text baseline origin is returned in `origin`.
cv::Rect text_box(const std::string& text, const TextStyle& style, cv::Point centre, cv::Point* origin) {
    int baseline = 0;
    const cv::Size size = text_size(text, style, &baseline);
    const cv::Rect box(centre.x - size.width / 2 - style.padding, centre.y - (size.height + baseline) / 2 - style.padding,
                       size.width + 2 * style.padding, size.height + baseline + 2 * style.padding);
    *origin = {box.x + style.padding, box.y + style.padding + size.height};
    return box;
}

// Moves `box` (and the text origin with it) fully inside the image when it fits.
void clamp_into(cv::Rect& box, cv::Point& origin, cv::Size image) {
    const int dx = std::clamp(box.x, 0, std::max(0, image.width - box.width)) - box.x;
    const int dy = std::clamp(box.y, 0, std::max(0, image.height - box.height)) - box.y;
    box += cv::Point(dx, dy);
    origin += cv::Point(dx, dy);
}

// h×w ids -> H×W ids, source index floor(i·h/H) as in write_label_png.
cv::Mat resize_nearest(const cv::Mat& labels, cv::Size size) {
    if (labels.size() == size) return labels;
    cv::Mat out(size, CV_32S);
    std::vector<int> column(static_cast<std::size_t>(size.width));
    for (int x = 0; x < size.width; ++x) column[x] = static_cast<int>(static_cast<std::int64_t>(x) * labels.cols / size.width);
    for (int y = 0; y < size.height; ++y) {
        const auto* src = labels.ptr<std::int32_t>(static_cast<int>(static_cast<std::int64_t>(y) * labels.rows / size.height));
        auto* dst = out.ptr<std::int32_t>(y);
        for (int x = 0; x < size.width; ++x) dst[x] = src[column[x]];
    }
    return out;
}

void draw_fill_and_outlines(cv::Mat& out, const cv::Mat& full, const std::unordered_map<std::int32_t, Rgb>& colours,
                            const OverlayStyle& style) {
    const int weight = static_cast<int>(std::lround(std::clamp(style.fill_opacity, 0.0, 1.0) * 256));  // of 256
    cv::Mat edges(full.size(), CV_8U, cv::Scalar(0));
    for (int y = 0; y < full.rows; ++y) {
        const auto* ids = full.ptr<std::int32_t>(y);
        const auto* below = y + 1 < full.rows ? full.ptr<std::int32_t>(y + 1) : nullptr;
        auto* px = out.ptr<std::uint8_t>(y);
        auto* edge = edges.ptr<std::uint8_t>(y);
        std::int32_t cached_id = 0;
        const Rgb* colour = nullptr;
        bool cached = false;
        for (int x = 0; x < full.cols; ++x) {
            if (!cached || ids[x] != cached_id) {  // ids come in runs: look up once per run
                const auto it = colours.find(ids[x]);
                colour = it == colours.end() ? nullptr : &it->second;
                cached_id = ids[x];
                cached = true;
            }
            if (colour != nullptr) {
                for (int c = 0; c < 3; ++c)
                    px[3 * x + c] = static_cast<std::uint8_t>((px[3 * x + c] * (256 - weight) + (*colour)[c] * weight + 128) >> 8);
            }
            if ((x + 1 < full.cols && ids[x + 1] != ids[x]) || (below != nullptr && below[x] != ids[x])) edge[x] = 255;
        }
    }
    if (!style.draw_outlines) return;
    const int thickness = std::max(1, static_cast<int>(std::lround(std::min(full.cols, full.rows) / 400.0)));
    if (thickness > 1)
        cv::dilate(edges, edges, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(thickness, thickness)));
    out.setTo(kWhite, edges);
}

cv::Rect place_legend(const std::vector<OverlayLabelBox>& labels, cv::Size legend, cv::Size image, int margin) {
    const std::array<cv::Point, 4> corners = {cv::Point(margin, margin),
                                              cv::Point(image.width - legend.width - margin, margin),
                                              cv::Point(margin, image.height - legend.height - margin),
                                              cv::Point(image.width - legend.width - margin, image.height - legend.height - margin)};
    cv::Rect best;
    long best_overlap = -1;
    for (const cv::Point& corner : corners) {
        const cv::Rect candidate(std::max(0, corner.x), std::max(0, corner.y), legend.width, legend.height);
        long overlap = 0;
        for (const OverlayLabelBox& label : labels) overlap += (candidate & label.box).area();
        if (best_overlap < 0 || overlap < best_overlap) {
            best_overlap = overlap;
            best = candidate;
        }
    }
    return best;
}

// Legend rows for the segments that have pixels, by id.
void draw_legend(cv::Mat& out, const std::vector<OverlaySegment>& segments, const std::set<std::int32_t>& present,
                 const std::vector<OverlayLabelBox>& labels, double scale, const OverlayStyle& style) {
    const TextStyle text = text_style(std::max(0.35, scale * 0.75));
    const cv::Size image = out.size();
    const int line = text_size("Hg", text).height + text.padding * 2;
    const int swatch = line - text.padding;
    const int max_width = image.width / 2;
    const int max_rows = static_cast<int>((image.height * 0.6 - text.padding) / line);
    // Skip the legend when it could not show a dozen characters of caption.
    if (max_rows < 1 || max_width < swatch + 3 * text.padding + text_size("0: abcdefghij", text).width) return;

    std::vector<OverlaySegment> sorted;
    for (const OverlaySegment& s : segments)
        if (present.count(s.id) != 0) sorted.push_back(s);
    if (sorted.empty()) return;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    const int shown = static_cast<int>(sorted.size()) <= max_rows ? static_cast<int>(sorted.size()) : max_rows - 1;
    std::vector<std::string> rows;
    const int text_room = max_width - swatch - 3 * text.padding;
    for (int i = 0; i < shown; ++i) {
        const std::string label = ascii_for_hershey(sorted[i].label);
        rows.push_back(fit_text(std::to_string(sorted[i].id) + (label.empty() ? "" : ": " + label), text_room, text));
    }
    if (shown < static_cast<int>(sorted.size())) rows.push_back("+" + std::to_string(sorted.size() - shown) + " more");

    int width = 0;
    for (const std::string& row : rows) width = std::max(width, text_size(row, text).width);
    const cv::Size legend(width + swatch + 3 * text.padding, static_cast<int>(rows.size()) * line + text.padding);
    const cv::Rect box = place_legend(labels, legend, image, text.padding);
    blend_rect(out, box, cv::Scalar(0, 0, 0), style.box_opacity);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const int top = box.y + text.padding + static_cast<int>(i) * line;
        if (i < static_cast<std::size_t>(shown)) {
            const Rgb c = voc_color(static_cast<std::uint32_t>(sorted[i].id));
            const cv::Rect square(box.x + text.padding, top, swatch, swatch);
            cv::rectangle(out, square, cv::Scalar(c[0], c[1], c[2]), cv::FILLED);
            cv::rectangle(out, square, kWhite, 1);
        }
        const cv::Point origin(box.x + swatch + 2 * text.padding, top + swatch - (swatch - text_size("H", text).height) / 2);
        cv::putText(out, rows[i], origin, kFont, text.scale, kWhite, text.thickness, cv::LINE_AA);
    }
}

}  // namespace

double overlay_font_scale(cv::Size image) {
    return std::clamp(std::min(image.width, image.height) / 650.0, 0.35, 8.0);
}

cv::Point deepest_point(const cv::Mat& mask) {
    cv::Mat padded;  // zero border: the image edge counts as the segment's edge
    cv::copyMakeBorder(mask != 0, padded, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
    cv::Mat distance;
    cv::distanceTransform(padded, distance, cv::DIST_L2, cv::DIST_MASK_5);
    double best = 0;
    cv::minMaxLoc(distance, nullptr, &best);
    if (best <= 0) return {-1, -1};
    // Near-ties (within one pixel of the maximum) form a ridge, e.g. the long
    // axis of a rectangle: take the ridge point nearest the ridge's centroid.
    const cv::Mat ridge = distance >= best - 1.0;
    const cv::Moments m = cv::moments(ridge, true);
    const cv::Point2d centroid(m.m10 / m.m00, m.m01 / m.m00);
    cv::Point at(-1, -1);
    double nearest = 1e300;
    for (int y = 0; y < ridge.rows; ++y) {
        const auto* row = ridge.ptr<std::uint8_t>(y);
        for (int x = 0; x < ridge.cols; ++x) {
            const double d = (x - centroid.x) * (x - centroid.x) + (y - centroid.y) * (y - centroid.y);
            if (row[x] != 0 && d < nearest) {
                nearest = d;
                at = {x, y};
            }
        }
    }
    return at - cv::Point(1, 1);
}

std::vector<OverlayLabelBox> overlay_label_boxes(cv::Size image, const cv::Mat& labels,
                                                 const std::vector<OverlaySegment>& segments) {
    cv::Mat ids;
    labels.convertTo(ids, CV_32S);
    const TextStyle text = text_style(overlay_font_scale(image));
    std::vector<OverlayLabelBox> placed;
    for (const OverlaySegment& s : segments) {
        const cv::Point deep = deepest_point(ids == s.id);
        if (deep.x < 0) continue;  // segment has no pixels
        // Centre of the low-resolution label pixel, in image coordinates.
        const cv::Point centre(static_cast<int>((deep.x + 0.5) * image.width / ids.cols),
                               static_cast<int>((deep.y + 0.5) * image.height / ids.rows));
        OverlayLabelBox label;
        label.id = s.id;
        const std::string folded = ascii_for_hershey(s.label);
        label.text = fit_text(folded.empty() ? std::to_string(s.id) : folded, image.width - 2 * text.padding, text);
        label.box = text_box(label.text, text, centre, &label.text_origin);
        clamp_into(label.box, label.text_origin, image);
        // Shift the box up or down by whole box heights until it overlaps no
        // caption placed before it (kept where it is if nothing is free).
        for (int step : {0, 1, -1, 2, -2, 3, -3}) {
            OverlayLabelBox moved = label;
            const cv::Point shift(0, step * (label.box.height + 1));
            moved.box += shift;
            moved.text_origin += shift;
            clamp_into(moved.box, moved.text_origin, image);
            const bool free = std::none_of(placed.begin(), placed.end(),
                                           [&](const OverlayLabelBox& other) { return (other.box & moved.box).area() > 0; });
            if (free) {
                label = moved;
                break;
            }
        }
        placed.push_back(label);
    }
    return placed;
}

cv::Mat render_overlay(const cv::Mat& rgb, const cv::Mat& labels, const std::vector<OverlaySegment>& segments,
                       const OverlayStyle& style) {
    if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("render_overlay: the image must be a non-empty 8-bit RGB array");
    if (labels.empty() || labels.channels() != 1) throw Error("render_overlay: the label map must be a non-empty 2-D array");
    cv::Mat ids;
    labels.convertTo(ids, CV_32S);
    std::unordered_map<std::int32_t, Rgb> colours;
    for (const OverlaySegment& s : segments) colours[s.id] = voc_color(static_cast<std::uint32_t>(s.id));

    cv::Mat out = rgb.clone();
    draw_fill_and_outlines(out, resize_nearest(ids, rgb.size()), colours, style);

    const double scale = overlay_font_scale(rgb.size());
    std::vector<OverlayLabelBox> placed;
    if (style.draw_labels) {
        const TextStyle text = text_style(scale);
        placed = overlay_label_boxes(rgb.size(), ids, segments);
        for (const OverlayLabelBox& label : placed) {
            blend_rect(out, label.box, cv::Scalar(0, 0, 0), style.box_opacity);
            cv::putText(out, label.text, label.text_origin, kFont, text.scale, kWhite, text.thickness, cv::LINE_AA);
        }
    }
    if (style.draw_legend) {
        std::set<std::int32_t> present;
        for (const OverlaySegment& s : segments)
            if (cv::countNonZero(ids == s.id) > 0) present.insert(s.id);
        draw_legend(out, segments, present, placed, scale, style);
    }
    return out;
}

void write_overlay_jpeg(const std::filesystem::path& path, const cv::Mat& rgb, bool overwrite, int quality) {
    if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("write_overlay_jpeg(" + path.string() + "): expected an 8-bit RGB image");
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);  // imencode expects B,G,R
    std::vector<std::uint8_t> bytes;
    if (!cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, std::clamp(quality, 0, 100)}))
        throw Error("encoding overlay " + path.string() + " as JPEG failed");
    write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), overwrite);
}

}  // namespace zgseg
