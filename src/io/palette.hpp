// The PASCAL VOC colour map, used by the label-map PNG and the overlay so that
// a segment has the same colour in both.
#pragma once

#include <array>
#include <cstdint>

namespace zgseg {

using Rgb = std::array<std::uint8_t, 3>;

// Colour of label `id` in the VOC map: the bits of the id are dealt out in turn
// to R, G, B, most significant colour bit first. Ids 0..255 give the standard
// 256-entry VOC palette (0 = black, 1 = (128,0,0), 255 = (224,224,192));
// larger ids (< 2^24) continue the same interleaving and stay distinct.
Rgb voc_color(std::uint32_t id);

// The first 256 entries, as written into a palette PNG.
const std::array<Rgb, 256>& voc_palette();

}  // namespace zgseg
