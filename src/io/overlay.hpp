// The overlay picture: the photo with each segment tinted in its label-map
// colour (VOC palette), white outlines between segments, each segment's
// caption written at the point deepest inside it (white on a dark box), and
// a legend (colour swatch, id, caption of every segment that has pixels,
// ending in "+N more" when they do not fit) in the image corner that hides
// the fewest captions. The overlay has exactly the size of the photo it is drawn
// on. Captions are folded to ASCII for OpenCV's Hershey font.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace zgseg {

struct OverlaySegment {
    std::int32_t id = 0;  // value in the label map; also picks the colour
    std::string label;    // UTF-8 caption
};

struct OverlayStyle {
    double fill_opacity = 0.45;    // tint strength over the photo
    double box_opacity = 0.65;     // dark boxes behind text
    bool draw_outlines = true;
    bool draw_labels = true;
    bool draw_legend = true;
};

// rgb: H×W CV_8UC3 (R,G,B). labels: h×w CV_32S segment ids at any size,
// resized to H×W by nearest neighbour. Pixels whose id is not in `segments`
// are left untouched. -> H×W CV_8UC3 (R,G,B).
cv::Mat render_overlay(const cv::Mat& rgb, const cv::Mat& labels, const std::vector<OverlaySegment>& segments,
                       const OverlayStyle& style = {});

// Where render_overlay writes each caption: the box (dark background,
// fully inside the image when it fits) and the text after ASCII folding and
// shortening with "..." to the image width. Segments without pixels get none.
struct OverlayLabelBox {
    std::int32_t id = 0;
    cv::Rect box;
    cv::Point text_origin;  // baseline start for cv::putText
    std::string text;
};
std::vector<OverlayLabelBox> overlay_label_boxes(cv::Size image, const cv::Mat& labels,
                                                 const std::vector<OverlaySegment>& segments);

// Point inside `mask` (CV_8U, non-zero = inside) farthest from its border
// (maximum of the distance transform; among points within one pixel of the
// maximum, the one nearest their centroid, so a bar gets its middle);
// (-1, -1) for an empty mask. Unlike the centroid, it lies inside any shape.
cv::Point deepest_point(const cv::Mat& mask);

// Text size scale for an image: legible from 100 px to 5000 px images.
double overlay_font_scale(cv::Size image);

// JPEG (quality 0..100) written atomically; rgb is R,G,B.
void write_overlay_jpeg(const std::filesystem::path& path, const cv::Mat& rgb, bool overwrite, int quality = 90);

}  // namespace zgseg
