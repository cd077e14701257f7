#include "nets/weights.hpp"

#include <sstream>

#include "zgseg/error.hpp"

namespace zgseg {

namespace {

torch::ScalarType torch_dtype(DType dtype) {
    switch (dtype) {
        case DType::F64: return torch::kFloat64;
        case DType::F32: return torch::kFloat32;
        case DType::F16: return torch::kFloat16;
        case DType::BF16: return torch::kBFloat16;
        case DType::I64: return torch::kInt64;
        case DType::I32: return torch::kInt32;
        case DType::I16: return torch::kInt16;
        case DType::I8: return torch::kInt8;
        case DType::U8: return torch::kUInt8;
        case DType::BOOL: return torch::kBool;
    }
    return torch::kFloat32;
}

DType file_dtype(torch::ScalarType t) {
    switch (t) {
        case torch::kFloat64: return DType::F64;
        case torch::kFloat32: return DType::F32;
        case torch::kFloat16: return DType::F16;
        case torch::kBFloat16: return DType::BF16;
        case torch::kInt64: return DType::I64;
        case torch::kInt32: return DType::I32;
        case torch::kInt16: return DType::I16;
        case torch::kInt8: return DType::I8;
        case torch::kUInt8: return DType::U8;
        case torch::kBool: return DType::BOOL;
        default: throw Error(std::string("cannot write tensors of dtype ") + c10::toString(t) + " to safetensors");
    }
}

std::string shape_str(const std::vector<int64_t>& shape) {
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    out << ']';
    return out.str();
}

}  // namespace

torch::Tensor tensor_from_view(const TensorView& view, const SafetensorsFile& file,
                               torch::Device device, torch::ScalarType dtype) {
    const auto source_dtype = torch_dtype(view.dtype);
    const bool aligned = reinterpret_cast<uintptr_t>(view.data) % dtype_size(view.dtype) == 0;
    torch::Tensor t;
    if (view.nbytes == 0) {
        t = torch::empty(view.shape, torch::TensorOptions().dtype(source_dtype));
    } else if (aligned) {
        // No copy: the tensor borrows the mapped bytes and holds the mapping.
        auto keep_alive = new std::shared_ptr<const MappedFile>(file.mapping());
        t = torch::from_blob(const_cast<uint8_t*>(view.data), view.shape,
                             [keep_alive](void*) { delete keep_alive; },
                             torch::TensorOptions().dtype(source_dtype));
    } else {
        t = torch::empty(view.shape, torch::TensorOptions().dtype(source_dtype));
        std::memcpy(t.data_ptr(), view.data, view.nbytes);
    }
    return t.to(device, dtype);
}

Weights::Weights(const std::filesystem::path& file, torch::Device device, torch::ScalarType dtype)
    : file_(SafetensorsFile::open(file)), device_(device), dtype_(dtype) {}

bool Weights::has(const std::string& name) const { return file_.find(prefix_ + name) != nullptr; }

torch::Tensor Weights::get(const std::string& name, const std::vector<int64_t>& shape) {
    const std::string full = prefix_ + name;
    const TensorView* view = file_.find(full);
    if (!view) {
        problems_.push_back("missing " + full + " " + shape_str(shape));
        return torch::empty(shape, torch::TensorOptions().dtype(dtype_).device(device_));
    }
    used_.insert(full);
    if (view->shape != shape) {
        problems_.push_back("mis-shaped " + full + ": file has " + view->shape_string() + ", expected " + shape_str(shape));
        return torch::empty(shape, torch::TensorOptions().dtype(dtype_).device(device_));
    }
    if (view->dtype == DType::BOOL || view->dtype == DType::U8) {
        problems_.push_back(std::string("wrong dtype for ") + full + ": " + dtype_name(view->dtype) + ", expected a float type");
        return torch::empty(shape, torch::TensorOptions().dtype(dtype_).device(device_));
    }
    return tensor_from_view(*view, file_, device_, dtype_);
}

void Weights::ignore_if_present(const std::string& name) {
    if (file_.find(prefix_ + name)) used_.insert(prefix_ + name);
}

void Weights::ignore_prefix(const std::string& prefix) { ignored_prefixes_.push_back(prefix_ + prefix); }

void Weights::finish() {
    std::vector<std::string> problems = problems_;
    for (const auto& t : file_.tensors()) {
        if (used_.count(t.name)) continue;
        bool ignored = false;
        for (const auto& p : ignored_prefixes_) ignored = ignored || t.name.compare(0, p.size(), p) == 0;
        if (!ignored) problems.push_back("unexpected " + t.name + " " + t.shape_string());
    }
    if (problems.empty()) return;
    std::string msg = "checkpoint '" + file_.path().string() + "' does not fit the network built from its config.json (" +
                      std::to_string(problems.size()) + " problem" + (problems.size() > 1 ? "s" : "") + "): ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw Error(msg);
}

std::string serialize_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
    std::vector<torch::Tensor> keep;
    std::vector<TensorView> views;
    for (const auto& [name, tensor] : tensors) {
        keep.push_back(tensor.detach().to(torch::kCPU).contiguous());
        const auto& t = keep.back();
        TensorView v;
        v.name = name;
        v.dtype = file_dtype(t.scalar_type());
        v.shape = t.sizes().vec();
        v.data = static_cast<const uint8_t*>(t.data_ptr());
        v.nbytes = t.nbytes();
        views.push_back(std::move(v));
    }
    return serialize_safetensors(views, metadata);
}

}  // namespace zgseg
