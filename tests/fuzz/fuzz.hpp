// Shared by the fuzz targets in this folder. Each target defines
// LLVMFuzzerTestOneInput; built with -fsanitize=fuzzer it is a libFuzzer
// binary (-DZGSEG_FUZZ=ON), linked with smoke_main.cpp it is the smoke test of
// the default suite (replays the committed corpus plus mutated inputs).
//
// Contract under test: a hostile input gives zgseg::Error or a result, never
// another exception, a crash, a hang or unbounded memory. So a target catches
// zgseg::Error only; anything else escapes and is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "text/utf8.hpp"
#include "zgseg/error.hpp"

namespace zgseg::fuzz {

// The readers under test take paths (and mmap or stream them), so the input
// goes to a per-process folder, in memory when /dev/shm exists, removed at exit.
inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        std::error_code ec;
        const std::filesystem::path base =
            std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : std::filesystem::temp_directory_path();
        auto d = base / ("zgseg-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    // Registered after `dir` exists, so it runs before `dir` is destroyed.
    static const bool cleanup = (std::atexit([] {
                                     std::error_code ec;
                                     std::filesystem::remove_all(scratch_dir(), ec);
                                 }),
                                 true);
    (void)cleanup;
    return dir;
}

inline std::filesystem::path write_file(const std::string& name, const uint8_t* data, size_t size) {
    const auto path = scratch_dir() / name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();  // the harness itself failed
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    return path;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// The bundled fixtures (tests/data), for the tokenizer vocabularies.
inline std::filesystem::path test_data() { return ZGSEG_TEST_DATA; }

// Runs `body`; a zgseg::Error is the expected answer to a bad input.
template <typename Body>
void expect_errors(Body&& body) {
    try {
        body();
    } catch (const zgseg::Error&) {
    }
}

// The tokenizer targets' first check: ill-formed UTF-8 must be refused with
// zgseg::Error (anything else aborts). True when `text` was ill-formed, so the
// target stops there.
template <typename Tokenizer>
bool refused_if_ill_formed(const Tokenizer& tokenizer, std::string_view text) {
    if (utf8::find_invalid(text) == utf8::kValid) return false;
    try {
        (void)tokenizer.encode(text);
    } catch (const zgseg::Error&) {
        return true;
    }
    std::abort();
}

}  // namespace zgseg::fuzz
