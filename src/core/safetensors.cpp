#include "core/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/json_bounded.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

namespace {

struct DTypeInfo {
    DType dtype;
    const char* name;
    size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2}, {DType::I8, "I8", 1}, {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

bool parse_dtype(const std::string& name, DType* out) {
    for (const auto& info : kDTypes) {
        if (name == info.name) {
            *out = info.dtype;
            return true;
        }
    }
    return false;
}

}  // namespace

size_t dtype_size(DType dtype) {
    for (const auto& info : kDTypes)
        if (info.dtype == dtype) return info.size;
    return 0;
}

const char* dtype_name(DType dtype) {
    for (const auto& info : kDTypes)
        if (info.dtype == dtype) return info.name;
    return "?";
}

int64_t TensorView::numel() const {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    return n;
}

std::string TensorView::shape_string() const {
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    out << ']';
    return out.str();
}

float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff, bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: renormalise
            exponent = 127 - 15 + 1;
            while (!(mantissa & 0x400)) { mantissa <<= 1; --exponent; }
            bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000 | (mantissa << 13);  // inf / nan
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

float bfloat16_to_float(uint16_t h) {
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

double element_as_double(const TensorView& t, int64_t i) {
    const uint8_t* p = t.data + static_cast<size_t>(i) * dtype_size(t.dtype);
    auto load = [p](auto zero) { decltype(zero) v; std::memcpy(&v, p, sizeof v); return v; };
    switch (t.dtype) {
        case DType::F64: return load(double{});
        case DType::F32: return load(float{});
        case DType::F16: return half_to_float(load(uint16_t{}));
        case DType::BF16: return bfloat16_to_float(load(uint16_t{}));
        case DType::I64: return static_cast<double>(load(int64_t{}));
        case DType::I32: return load(int32_t{});
        case DType::I16: return load(int16_t{});
        case DType::I8: return load(int8_t{});
        case DType::U8: return load(uint8_t{});
        case DType::BOOL: return load(uint8_t{}) != 0;
    }
    return 0;
}

// ---- memory mapping ---------------------------------------------------------

class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path& path) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            throw Error("cannot open '" + path.string() + "': " + std::strerror(errno));
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            throw Error("'" + path.string() + "' is not a regular file");
        }
        size_ = static_cast<size_t>(st.st_size);
        if (size_ > 0) {
            // Private + writable: pages are copy-on-write, so a tensor view that
            // is accidentally written to can never change the file.
            void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                ::close(fd);
                throw Error("cannot map '" + path.string() + "': " + std::strerror(errno));
            }
            data_ = static_cast<uint8_t*>(p);
        }
        ::close(fd);
    }
    ~MappedFile() {
        if (data_) ::munmap(data_, size_);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

private:
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

// ---- reader -------------------------------------------------------------------

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
    const std::string where = "safetensors file '" + path.string() + "'";
    auto fail = [&](const std::string& what) -> Error {
        return Error(where + ": " + what + " (the file is corrupt or not a safetensors file; download it again)");
    };

    SafetensorsFile file;
    file.path_ = path;
    auto mapping = std::make_shared<MappedFile>(path);
    file.mapping_ = mapping;
    const uint8_t* bytes = mapping->data();
    const size_t file_size = mapping->size();

    if (file_size < 8) throw fail("file is " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little-endian
    if (header_len > kMaxSafetensorsHeaderBytes)
        throw fail("header length " + std::to_string(header_len) + " exceeds the " +
                   std::to_string(kMaxSafetensorsHeaderBytes) + "-byte limit");
    if (header_len > file_size - 8)
        throw fail("header length " + std::to_string(header_len) + " runs past the end of the " +
                   std::to_string(file_size) + "-byte file");

    const char* header_begin = reinterpret_cast<const char*>(bytes + 8);
    nlohmann::json header;
    try {
        // nlohmann validates UTF-8 and rejects invalid sequences.
        header = parse_bounded_json(header_begin, header_begin + header_len);
    } catch (const nlohmann::json::exception& e) {
        throw fail(std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) throw fail("header is not a JSON object");

    const uint8_t* data_area = bytes + 8 + header_len;
    const uint64_t data_size = file_size - 8 - header_len;

    struct Range {
        uint64_t begin, end;
        const std::string* name;
    };
    std::vector<Range> ranges;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object()) throw fail("__metadata__ is not an object");
            for (const auto& [key, value] : entry.items()) {
                if (!value.is_string()) throw fail("__metadata__ value for '" + key + "' is not a string");
                file.metadata_[key] = value.get<std::string>();
            }
            continue;
        }
        const std::string tensor = "tensor '" + name + "'";
        if (!entry.is_object()) throw fail(tensor + " entry is not an object");
        if (!entry.contains("dtype") || !entry["dtype"].is_string()) throw fail(tensor + " has no dtype");
        if (!entry.contains("shape") || !entry["shape"].is_array()) throw fail(tensor + " has no shape");
        if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
            throw fail(tensor + " has no [begin, end] data_offsets");

        TensorView view;
        view.name = name;
        const std::string dtype = entry["dtype"].get<std::string>();
        if (!parse_dtype(dtype, &view.dtype)) throw fail(tensor + " has unsupported dtype '" + dtype + "'");

        // Element count with overflow checks: a hostile shape must not wrap around.
        uint64_t numel = 1;
        for (const auto& dim : entry["shape"]) {
            if (!dim.is_number_unsigned()) throw fail(tensor + " has a negative or non-integer dimension");
            const uint64_t d = dim.get<uint64_t>();
            if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
                (d != 0 && numel > std::numeric_limits<uint64_t>::max() / d))
                throw fail(tensor + " shape overflows");
            numel *= d;
            view.shape.push_back(static_cast<int64_t>(d));
        }
        const auto& offsets = entry["data_offsets"];
        if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
            throw fail(tensor + " data_offsets are not non-negative integers");
        const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
        if (begin > end || end > data_size)
            throw fail(tensor + " data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                       "] lie outside the " + std::to_string(data_size) + "-byte data area");
        const uint64_t elem = dtype_size(view.dtype);
        if (numel > std::numeric_limits<uint64_t>::max() / elem || numel * elem != end - begin)
            throw fail(tensor + " holds " + std::to_string(end - begin) + " bytes but dtype " + dtype +
                       " × shape " + view.shape_string() + " needs " + std::to_string(numel * elem));
        view.data = data_area + begin;
        view.nbytes = static_cast<size_t>(end - begin);
        file.tensors_.push_back(std::move(view));
    }

    // No two tensors may share bytes (zero-sized tensors occupy nothing).
    for (const auto& t : file.tensors_)
        if (t.nbytes > 0)
            ranges.push_back({static_cast<uint64_t>(t.data - data_area), static_cast<uint64_t>(t.data - data_area) + t.nbytes, &t.name});
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
    for (size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].begin < ranges[i - 1].end)
            throw fail("tensors '" + *ranges[i - 1].name + "' and '" + *ranges[i].name + "' overlap");

    std::sort(file.tensors_.begin(), file.tensors_.end(),
              [](const TensorView& a, const TensorView& b) { return a.name < b.name; });
    return file;
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
    auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                               [](const TensorView& t, const std::string& n) { return t.name < n; });
    return (it != tensors_.end() && it->name == name) ? &*it : nullptr;
}

}  // namespace zgseg
