#include "io/palette.hpp"

namespace zgseg {

Rgb voc_color(std::uint32_t id) {
    unsigned r = 0, g = 0, b = 0;
    std::uint32_t bits = id;
    // 8 rounds of 3 bits: channel bit (7 - round) takes the next id bit.
    for (int round = 0; round < 8; ++round) {
        r |= ((bits >> 0) & 1u) << (7 - round);
        g |= ((bits >> 1) & 1u) << (7 - round);
        b |= ((bits >> 2) & 1u) << (7 - round);
        bits >>= 3;
    }
    return {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(b)};
}

const std::array<Rgb, 256>& voc_palette() {
    static const std::array<Rgb, 256> table = [] {
        std::array<Rgb, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) t[i] = voc_color(i);
        return t;
    }();
    return table;
}

}  // namespace zgseg
