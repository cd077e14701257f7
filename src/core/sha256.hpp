// SHA-256 (FIPS 180-4), for input checksums in the JSON output and cache keys.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace zgseg {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    std::string hex_digest();  // finishes the hash

private:
    void block(const uint8_t* chunk);
    uint32_t state_[8];
    uint8_t buffer_[64];
    size_t buffered_ = 0;
    uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::string_view text);
// Throws zgseg::Error naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace zgseg
