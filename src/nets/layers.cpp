#include "nets/layers.hpp"

#include <limits>

#include "zgseg/error.hpp"

namespace zgseg {

Linear Linear::load(Weights& w, const std::string& name, int64_t in, int64_t out) {
    return {w.get(name + ".weight", {out, in}), w.get(name + ".bias", {out})};
}

torch::Tensor Linear::forward(const torch::Tensor& x) const { return torch::linear(x, weight, bias); }

Conv1D Conv1D::load(Weights& w, const std::string& name, int64_t in, int64_t out) {
    return {w.get(name + ".weight", {in, out}), w.get(name + ".bias", {out})};
}

torch::Tensor Conv1D::forward(const torch::Tensor& x) const {
    const int64_t in = weight.size(0);
    auto out_shape = x.sizes().vec();
    out_shape.back() = weight.size(1);
    // (N, in) @ (in, out) + bias -> (N, out)
    return torch::addmm(bias, x.reshape({-1, in}), weight).view(out_shape);
}

LayerNorm LayerNorm::load(Weights& w, const std::string& name, int64_t dim, double eps) {
    return {w.get(name + ".weight", {dim}), w.get(name + ".bias", {dim}), eps};
}

torch::Tensor LayerNorm::forward(const torch::Tensor& x) const {
    return torch::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

void check_run_dtype(torch::Device device, torch::ScalarType dtype, const std::string& network) {
    const bool half = dtype == torch::kFloat16 || dtype == torch::kBFloat16;
    if (dtype == torch::kFloat32 || (half && device.is_cuda())) return;
    throw Error(network + ": cannot run in " + c10::toString(dtype) + " on " + device.str() +
                " (use float32, or float16/bfloat16 on a CUDA device)");
}

bool parse_activation(const std::string& name, Activation& out) {
    if (name == "gelu") {
        out = Activation::GeluErf;
        return true;
    }
    if (name == "gelu_new" || name == "gelu_pytorch_tanh") {
        out = Activation::GeluTanh;
        return true;
    }
    return false;
}

torch::Tensor activate(const torch::Tensor& x, Activation act) {
    return act == Activation::GeluTanh ? torch::gelu(x, "tanh") : torch::gelu(x);
}

torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
    const int64_t B = x.size(0), T = x.size(1), hd = x.size(2) / heads;
    return x.view({B, T, heads, hd}).transpose(1, 2);  // (B, heads, T, hd)
}

torch::Tensor merge_heads(const torch::Tensor& x) {
    const int64_t B = x.size(0), heads = x.size(1), T = x.size(2), hd = x.size(3);
    return x.transpose(1, 2).reshape({B, T, heads * hd});  // (B, T, heads*hd)
}

torch::Tensor attention_bias(const torch::Tensor& allowed, torch::ScalarType dtype) {
    const double lowest = dtype == torch::kFloat16    ? -65504.0
                          : dtype == torch::kBFloat16 ? -3.3895313892515355e38
                          : dtype == torch::kFloat64  ? std::numeric_limits<double>::lowest()
                                                      : static_cast<double>(std::numeric_limits<float>::lowest());
    auto bias = torch::zeros(allowed.sizes(), torch::TensorOptions().dtype(dtype).device(allowed.device()));
    return bias.masked_fill(allowed.logical_not(), lowest);
}

torch::Tensor padding_bias(const torch::Tensor& key_mask, torch::ScalarType dtype) {
    return attention_bias(key_mask.ne(0), dtype).unsqueeze(1).unsqueeze(1);  // (B, 1, 1, S)
}

}  // namespace zgseg
