// Safetensors reader and writer (https://github.com/huggingface/safetensors, format only).
//
// File layout: u64 little-endian header length N, N bytes of JSON header, then
// the data area. Header: { "<name>": {"dtype": "F32", "shape": [..],
// "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"} } with offsets
// relative to the data area.
//
// The reader memory-maps the file and validates everything before handing out
// a pointer: header length against the file size and a cap, JSON object, known
// dtypes, offsets inside the data area, no overlapping ranges, and
// byte size == dtype size × number of elements. A hostile file gives a
// zgseg::Error naming the file and the problem, never an out-of-bounds read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace zgseg {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // "F32", ...

// One tensor inside a mapped file. `data` stays valid while the owning
// SafetensorsFile (or a copy of its `mapping()`) is alive.
struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const uint8_t* data = nullptr;
    size_t nbytes = 0;

    int64_t numel() const;
    std::string shape_string() const;  // "[384, 3, 8, 8]"
};

// Element i of the tensor converted to double (any dtype; for tests and small tensors).
double element_as_double(const TensorView& tensor, int64_t i);
float half_to_float(uint16_t bits);
float bfloat16_to_float(uint16_t bits);

// A read-only memory mapping; shared so tensors can keep it alive.
class MappedFile;

class SafetensorsFile {
public:
    // Maps and validates `path`; throws zgseg::Error on any problem.
    static SafetensorsFile open(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return path_; }
    const std::vector<TensorView>& tensors() const { return tensors_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    // nullptr when absent.
    const TensorView* find(const std::string& name) const;
    std::shared_ptr<const MappedFile> mapping() const { return mapping_; }

private:
    std::filesystem::path path_;
    std::shared_ptr<const MappedFile> mapping_;
    std::vector<TensorView> tensors_;  // sorted by name
    std::map<std::string, std::string> metadata_;
};

// Largest header we accept (the real headers are well under 1 MB).
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

// The one safetensors writer (core/safetensors_writer.cpp): the per-image
// embeddings, the search index and bench's random models go through it. It
// streams: the header first, from each tensor's dtype and shape, then each
// tensor's bytes in the order added, so no file needs to be in memory whole.
class SafetensorsWriter {
public:
    // Receives the file's bytes in order, in pieces.
    using Sink = std::function<void(const void* data, size_t bytes)>;
    // Gives one tensor's bytes to the sink (in pieces of any size) when the data area is written.
    using Fill = std::function<void(const Sink& sink)>;
    // The header's key order: AsAdded writes "__metadata__" first, then the
    // tensors as added, each entry as {dtype, shape, data_offsets}; Sorted
    // sorts every object's keys ("__metadata__" where it sorts).
    enum class HeaderOrder { AsAdded, Sorted };

    explicit SafetensorsWriter(std::map<std::string, std::string> metadata = {},
                               HeaderOrder order = HeaderOrder::AsAdded);

    // A tensor in memory: `tensor.data` must stay valid until write(). Throws
    // zgseg::Error when its byte size does not match its shape.
    void add(const TensorView& tensor);
    // A tensor whose bytes `fill` gives when the data area is written.
    void add(const std::string& name, DType dtype, const std::vector<int64_t>& shape, Fill fill);
    // Both throw zgseg::Error for a duplicate name or "__metadata__".

    // The u64 header length and the header, padded with spaces to a multiple of 8.
    std::string header() const;
    // header(), then every tensor's bytes. Throws zgseg::Error when a tensor's
    // `fill` gives more or fewer bytes than its shape needs.
    void write(const Sink& sink) const;
    // The whole file image (small files).
    std::string bytes() const;

    struct Entry {
        std::string name;
        DType dtype;
        std::vector<int64_t> shape;
        uint64_t nbytes;
        Fill fill;
    };

private:
    std::map<std::string, std::string> metadata_;
    HeaderOrder order_;
    std::vector<Entry> entries_;
    std::set<std::string> names_;
    uint64_t data_bytes_ = 0;
};

// Serialises tensors (in the given order) into a complete safetensors file image.
// Names must be unique and valid UTF-8.
std::string serialize_safetensors(const std::vector<TensorView>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

}  // namespace zgseg
