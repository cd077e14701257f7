// Building blocks shared by the text networks (GPT-2, BERT, MPNet): plain
// structs of tensors loaded by Hugging Face name, and free forward functions.
// No torch::nn modules: parameters are loaded once, never trained, and live
// on the device and dtype chosen at load time.
#pragma once

#include <torch/torch.h>

#include <string>

#include "nets/weights.hpp"

namespace zgseg {

// torch.nn.Linear layout: weight (out, in), bias (out).
struct Linear {
    torch::Tensor weight;  // (out, in)
    torch::Tensor bias;    // (out)

    static Linear load(Weights& w, const std::string& name, int64_t in, int64_t out);
    torch::Tensor forward(const torch::Tensor& x) const;  // (..., in) -> (..., out)
};

// GPT-2's Conv1D layout: weight stored transposed, (in, out), bias (out).
struct Conv1D {
    torch::Tensor weight;  // (in, out)
    torch::Tensor bias;    // (out)

    static Conv1D load(Weights& w, const std::string& name, int64_t in, int64_t out);
    torch::Tensor forward(const torch::Tensor& x) const;  // (..., in) -> (..., out)
};

struct LayerNorm {
    torch::Tensor weight;  // (dim)
    torch::Tensor bias;    // (dim)
    double eps = 1e-5;

    static LayerNorm load(Weights& w, const std::string& name, int64_t dim, double eps);
    torch::Tensor forward(const torch::Tensor& x) const;  // (..., dim) -> (..., dim)
};

// Refuses (zgseg::Error) a run dtype the networks are not meant for: float32
// anywhere; float16/bfloat16 only on CUDA (slow and untested on the CPU).
void check_run_dtype(torch::Device device, torch::ScalarType dtype, const std::string& network);

// Activations named as in Hugging Face's ACT2FN.
enum class Activation { GeluErf, GeluTanh };
// "gelu" -> GeluErf; "gelu_new" / "gelu_pytorch_tanh" -> GeluTanh.
// Unknown names are recorded as a config problem by the caller.
bool parse_activation(const std::string& name, Activation& out);
torch::Tensor activate(const torch::Tensor& x, Activation act);

// (B, T, heads*hd) -> (B, heads, T, hd)
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads);
// (B, heads, T, hd) -> (B, T, heads*hd)
torch::Tensor merge_heads(const torch::Tensor& x);

// Additive attention bias from a boolean "may attend" mask (any shape):
// 0 where allowed, the dtype's lowest finite value elsewhere, as Hugging Face
// adds it (a fully masked row then stays finite instead of becoming NaN).
torch::Tensor attention_bias(const torch::Tensor& allowed, torch::ScalarType dtype);
// Key padding mask (B, S) with 1 = token, 0 = padding -> additive (B, 1, 1, S).
torch::Tensor padding_bias(const torch::Tensor& key_mask, torch::ScalarType dtype);

}  // namespace zgseg
