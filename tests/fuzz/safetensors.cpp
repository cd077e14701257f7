// Safetensors reader: header length, JSON header, tensor table, offsets.
// Every tensor it accepts is read in full and written back; the copy must
// read the same (names, dtypes, shapes, bytes, metadata).
#include <cstring>

#include "core/safetensors.hpp"
#include "fuzz.hpp"

using namespace zgseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto path = fuzz::write_file("input.safetensors", data, size);
    fuzz::expect_errors([&] {
        const auto file = SafetensorsFile::open(path);
        uint64_t total = 0;
        for (const auto& t : file.tensors()) {
            if (static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype) != t.nbytes) std::abort();
            total += t.nbytes;
            if (t.nbytes > size || total > size) std::abort();  // more bytes than the file has
            for (int64_t i = 0; i < t.numel(); ++i) (void)element_as_double(t, i);
        }
        const std::string copy = serialize_safetensors(file.tensors(), file.metadata());
        const auto again = SafetensorsFile::open(fuzz::write_file("copy.safetensors",
                                                                  reinterpret_cast<const uint8_t*>(copy.data()),
                                                                  copy.size()));
        if (again.tensors().size() != file.tensors().size() || again.metadata() != file.metadata()) std::abort();
        for (size_t i = 0; i < file.tensors().size(); ++i) {
            const auto &a = file.tensors()[i], &b = again.tensors()[i];
            if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape || a.nbytes != b.nbytes ||
                (a.nbytes && std::memcmp(a.data, b.data, a.nbytes) != 0))
                std::abort();
        }
    });
    return 0;
}
