#include "nets/transformer.hpp"

#include <limits>

namespace zgseg {

Linear load_linear_no_bias(Weights& w, const std::string& name, int64_t in, int64_t out) {
    return {w.get(name + ".weight", {out, in}), torch::Tensor()};
}

torch::Tensor mlp_activate(const torch::Tensor& x, MlpActivation act) {
    return act == MlpActivation::QuickGelu ? x * torch::sigmoid(1.702 * x) : torch::gelu(x);
}

namespace {

constexpr int64_t kQueryChunk = 1024;

// One (B, H) slice at a time, 1,024 queries at a time: the largest temporary
// is a (chunk, T) score matrix (73 MB at T = 17.9k in fp32).
torch::Tensor chunked_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                double scale, bool causal) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Tk = k.size(2);
    auto out = torch::empty_like(q);  // (B, H, T, D)
    for (int64_t b = 0; b < B; ++b) {
        for (int64_t h = 0; h < H; ++h) {
            const auto kt = k[b][h].transpose(0, 1);  // (D, Tk)
            const auto vh = v[b][h];                  // (Tk, D)
            for (int64_t s = 0; s < T; s += kQueryChunk) {
                const int64_t e = std::min(T, s + kQueryChunk);
                auto scores = torch::matmul(q[b][h].slice(0, s, e), kt).mul_(scale);  // (e-s, Tk)
                if (causal) {
                    const auto rows = torch::arange(s, e, q.options().dtype(torch::kLong)).unsqueeze(1);
                    const auto cols = torch::arange(Tk, q.options().dtype(torch::kLong)).unsqueeze(0);
                    scores.masked_fill_(cols > rows, -std::numeric_limits<double>::infinity());
                }
                out[b][h].slice(0, s, e).copy_(torch::matmul(torch::softmax(scores, -1), vh));
            }
        }
    }
    return out;
}

}  // namespace

torch::Tensor softmax_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                double scale, AttentionKernel kernel, bool causal) {
    if (kernel == AttentionKernel::Chunked) return chunked_attention(q, k, v, scale, causal);
    return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, causal, scale);
}

AttentionFn standard_attention(AttentionKernel kernel, bool causal) {
    return [kernel, causal](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale) {
        return softmax_attention(q, k, v, scale, kernel, causal);
    };
}

torch::Tensor block_keys(const EncoderBlock& block, const torch::Tensor& x) {
    return block.key.forward(block.norm1.forward(x));
}

torch::Tensor encoder_block(const EncoderBlock& block, const torch::Tensor& x, const AttentionFn& attention) {
    const int64_t D = x.size(2) / block.heads;
    const double scale = std::pow(static_cast<double>(D), -0.5);  // as Python's head_dim ** -0.5
    auto h = block.norm1.forward(x);                                     // (B, T, C)
    const auto q = split_heads(block.query.forward(h), block.heads);     // (B, H, T, D)
    const auto k = split_heads(block.key.forward(h), block.heads);
    const auto v = split_heads(block.value.forward(h), block.heads);
    h = block.out.forward(merge_heads(attention(q, k, v, scale)));       // (B, T, C)
    auto y = x + h;
    return y + block.fc2.forward(mlp_activate(block.fc1.forward(block.norm2.forward(y)), block.act));
}

}  // namespace zgseg
