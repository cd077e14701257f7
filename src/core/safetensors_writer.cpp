// SafetensorsWriter (core/safetensors.hpp): the one writer of safetensors
// files — the per-image embeddings, the search index, bench's random models.
#include "core/safetensors.hpp"

#include <nlohmann/json.hpp>

#include "zgseg/error.hpp"

namespace zgseg {

namespace {

// The header's JSON text. nlohmann::ordered_json keeps the order of insertion
// (__metadata__ first, then the tensors as added); nlohmann::json sorts every
// object's keys, the entries' own keys included.
template <class Json>
std::string header_json(const std::vector<SafetensorsWriter::Entry>& entries,
                        const std::map<std::string, std::string>& metadata) {
    Json header = Json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto& e : entries) {
        header[e.name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.nbytes}}};
        offset += e.nbytes;
    }
    return header.dump();
}

}  // namespace

SafetensorsWriter::SafetensorsWriter(std::map<std::string, std::string> metadata, HeaderOrder order)
    : metadata_(std::move(metadata)), order_(order) {}

void SafetensorsWriter::add(const TensorView& tensor) {
    if (static_cast<uint64_t>(tensor.numel()) * dtype_size(tensor.dtype) != tensor.nbytes)
        throw Error("cannot write safetensors: tensor '" + tensor.name + "' byte size does not match its shape");
    const uint8_t* data = tensor.data;
    const size_t nbytes = tensor.nbytes;
    add(tensor.name, tensor.dtype, tensor.shape, [data, nbytes](const Sink& sink) { sink(data, nbytes); });
}

void SafetensorsWriter::add(const std::string& name, DType dtype, const std::vector<int64_t>& shape, Fill fill) {
    if (name == "__metadata__" || !names_.insert(name).second)
        throw Error("cannot write safetensors: duplicate or reserved tensor name '" + name + "'");
    uint64_t nbytes = dtype_size(dtype);
    for (int64_t d : shape) nbytes *= static_cast<uint64_t>(d);
    entries_.push_back({name, dtype, shape, nbytes, std::move(fill)});
    data_bytes_ += nbytes;
}

std::string SafetensorsWriter::header() const {
    std::string text = order_ == HeaderOrder::AsAdded ? header_json<nlohmann::ordered_json>(entries_, metadata_)
                                                      : header_json<nlohmann::json>(entries_, metadata_);
    text.append((8 - text.size() % 8) % 8, ' ');  // the data area starts 8-byte aligned
    std::string out(8, '\0');
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + text;
}

void SafetensorsWriter::write(const Sink& sink) const {
    const std::string head = header();
    sink(head.data(), head.size());
    for (const auto& e : entries_) {
        uint64_t given = 0;
        e.fill([&](const void* data, size_t bytes) {
            given += bytes;
            if (bytes) sink(data, bytes);
        });
        if (given != e.nbytes)
            throw Error("cannot write safetensors: tensor '" + e.name + "' gave " + std::to_string(given) +
                        " bytes, its shape needs " + std::to_string(e.nbytes));
    }
}

std::string SafetensorsWriter::bytes() const {
    std::string out;
    out.reserve(8 + 64 * entries_.size() + data_bytes_);
    write([&](const void* data, size_t n) { out.append(static_cast<const char*>(data), n); });
    return out;
}

std::string serialize_safetensors(const std::vector<TensorView>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
    SafetensorsWriter writer(metadata);
    for (const auto& t : tensors) writer.add(t);
    return writer.bytes();
}

}  // namespace zgseg
