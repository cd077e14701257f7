// zgseg selftest: each network (and stage 2) on the bundled tiny fixtures,
// compared with what the reference libraries gave (scripts/fixtures/*.py).
// The same inputs and expected tensors as the golden tests in tests/golden/.
#include "zgseg/selftest.hpp"

#include <torch/torch.h>

#include <functional>
#include <map>

#include "core/safetensors.hpp"
#include "core/timing.hpp"
#include "core/tolerance.hpp"
#include "nets/clip.hpp"
#include "nets/device.hpp"
#include "nets/gpt2.hpp"
#include "nets/sentence_encoder.hpp"
#include "nets/vit.hpp"
#include "nets/weights.hpp"
#include "stages/embedding/segment_embedder.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg {

bool SelftestReport::passed() const {
    for (const auto& c : checks)
        if (!c.passed()) return false;
    return !checks.empty();
}

namespace {

using tolerance::Tolerance;

// Every tensor of a safetensors file on the CPU: integers as int64, floats as float32.
std::map<std::string, torch::Tensor> read_tensors(const fs::path& file) {
    const SafetensorsFile f = SafetensorsFile::open(file);
    std::map<std::string, torch::Tensor> out;
    for (const auto& view : f.tensors()) {
        const bool integer = view.dtype == DType::I64 || view.dtype == DType::I32 || view.dtype == DType::U8;
        out[view.name] = tensor_from_view(view, f, torch::kCPU, integer ? torch::kInt64 : torch::kFloat32).clone();
    }
    return out;
}

const torch::Tensor& at(const std::map<std::string, torch::Tensor>& tensors, const std::string& name,
                        const fs::path& file) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw Error("selftest data '" + file.string() + "' lacks the tensor '" + name + "'");
    return it->second;
}

// uint8 (1, 3, H, W) → x/255, minus mean, over std (the fixture scripts' ops).
torch::Tensor normalise(const torch::Tensor& u8, const std::array<double, 3>& mean, const std::array<double, 3>& stdev) {
    const auto m = torch::tensor({mean[0], mean[1], mean[2]}, torch::kFloat32).view({1, 3, 1, 1});
    const auto s = torch::tensor({stdev[0], stdev[1], stdev[2]}, torch::kFloat32).view({1, 3, 1, 1});
    return (u8.to(torch::kFloat32).div(255.0) - m) / s;
}

torch::Tensor upscale(const torch::Tensor& x, int64_t k) { return x.repeat_interleave(k, 2).repeat_interleave(k, 3); }

// Unpadded rows of a padded (N, L) id matrix, given each row's length.
std::vector<std::vector<int64_t>> rows_of(const torch::Tensor& ids, const torch::Tensor& lengths) {
    std::vector<std::vector<int64_t>> out;
    for (int64_t i = 0; i < ids.size(0); ++i) {
        const auto row = ids[i].slice(0, 0, lengths[i].item<int64_t>()).contiguous();
        out.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
    }
    return out;
}

class Runner {
public:
    Runner(fs::path data, torch::Device device, torch::ScalarType dtype, SelftestReport& report)
        : data_(std::move(data)), device_(device), dtype_(dtype), report_(report) {}

    // A transformer-shaped tolerance: float32 rounding (tolerance.hpp); in half
    // precision every stored activation is rounded to 11 (fp16) or 8 (bf16)
    // bits while sums accumulate in float32, so the chain of roundings counts.
    Tolerance net_tolerance(int layers, int longest, const torch::Tensor& want, const std::string& shape) const {
        const double magnitude = want.abs().max().item<double>();
        if (dtype_ == torch::kFloat32) return tolerance::float32_transformer(layers, longest, magnitude, shape + ", float32");
        const double u = dtype_ == torch::kFloat16 ? 0x1p-11 : 0x1p-8;
        const double rtol = tolerance::kSafety * std::sqrt(8.0 * layers + 2) * u;
        return {rtol * magnitude, rtol, shape + (dtype_ == torch::kFloat16 ? ", fp16 activations" : ", bf16 activations")};
    }

    void check(const std::string& name, const std::function<void(SelftestCheck&)>& body) {
        SelftestCheck c;
        c.name = name;
        const auto start = SteadyClock::now();
        try {
            body(c);
        } catch (const std::exception& e) {
            c.error = e.what();
        }
        c.seconds = seconds_since(start);
        report_.checks.push_back(std::move(c));
    }

    static void compare(SelftestCheck& c, const torch::Tensor& got, const torch::Tensor& want, const Tolerance& t) {
        if (got.sizes() != want.sizes()) throw Error("shape " + c10::str(got.sizes()) + ", expected " + c10::str(want.sizes()));
        const auto g = got.detach().to(torch::kCPU, torch::kFloat64).contiguous().reshape({-1});
        const auto w = want.detach().to(torch::kCPU, torch::kFloat64).contiguous().reshape({-1});
        const auto c_ = tolerance::closeness({g.data_ptr<double>(), g.data_ptr<double>() + g.numel()},
                                             {w.data_ptr<double>(), w.data_ptr<double>() + w.numel()}, t);
        // Several comparisons in one check: keep the worst.
        c.max_abs_diff = std::max(c.max_abs_diff, c_.max_abs_diff);
        if (c_.worst_ratio >= c.worst_ratio) {
            c.worst_ratio = c_.worst_ratio;
            c.atol = t.atol;
            c.rtol = t.rtol;
            c.tolerance_reason = t.why;
        }
    }

    void run_all() {
        torch::NoGradGuard no_grad;
        const fs::path nets = data_ / "nets";
        check("dino keys, stride 2", [&](SelftestCheck& c) {
            const fs::path file = nets / "dino_expected.safetensors";
            const auto e = read_tensors(file);
            const auto net = DinoVit::load(nets / "dino-vits8-tiny", device_, dtype_);
            const auto crop = normalise(at(e, "image", file).slice(2, 0, 56).slice(3, 0, 88), {0.485, 0.456, 0.406},
                                        {0.229, 0.224, 0.225});  // (1, 3, 56, 88): a 25 × 41 grid at stride 2
            const auto& want = at(e, "keys_crop_stride2", file);
            compare(c, net.last_block_keys(crop.to(device_, dtype_), 2), want,
                    net_tolerance(3, 1 + 25 * 41, want, "3 blocks, 1026 tokens"));
        });
        const fs::path clip_file = nets / "clip_expected.safetensors";
        check("clip image embeddings", [&](SelftestCheck& c) {
            const auto e = read_tensors(clip_file);
            const auto net = ClipVision::load(nets / "clip-vit-l14-336-tiny", device_, dtype_);
            const auto image = normalise(upscale(at(e, "image", clip_file), 3), {0.48145466, 0.4578275, 0.40821073},
                                         {0.26862954, 0.26130258, 0.27577711});  // (1, 3, 336, 336)
            const auto batch = torch::cat({image, image.flip(3)}, 0);
            const auto& want = at(e, "image_embeds", clip_file);
            compare(c, net.image_embedding(batch.to(device_, dtype_)), want,
                    net_tolerance(5, 577, want, "5 blocks, 577 tokens"));
        });
        check("clip text embeddings", [&](SelftestCheck& c) {
            const auto e = read_tensors(clip_file);
            const auto net = ClipText::load(nets / "clip-vit-l14-336-tiny", device_, dtype_);
            const auto ids = rows_of(at(e, "text_ids", clip_file), at(e, "text_lengths", clip_file));
            const auto& want = at(e, "text_embeds_argmax", clip_file);
            compare(c, net.encode(ids), want, net_tolerance(2, 128, want, "2 blocks, 128-wide MLP"));
        });
        const fs::path gpt2_file = nets / "gpt2_tiny_expected.safetensors";
        check("gpt2 logits and presents", [&](SelftestCheck& c) {
            const auto e = read_tensors(gpt2_file);
            const auto net = Gpt2::load(nets / "gpt2_tiny", device_);  // GPT-2 runs in float32 in zgseg
            const auto out = net.forward(torch::cat({at(e, "ids_ctx", gpt2_file), at(e, "ids_new", gpt2_file)}, 1).to(device_));
            const auto& want = at(e, "logits_nopast", gpt2_file);
            compare(c, out.logits, want, tolerance::float32_transformer(2, 128, want.abs().max().item<double>(), "2 blocks, float32"));
        });
        check("gpt2 gradients w.r.t. the past", [&](SelftestCheck& c) {
            torch::AutoGradMode grad(true);
            const auto e = read_tensors(gpt2_file);
            const auto net = Gpt2::load(nets / "gpt2_tiny", device_);
            PastKeyValues past;
            for (int64_t i = 0; i < net.config().n_layer; ++i) {
                const std::string l = std::to_string(i);
                past.push_back({at(e, "past." + l + ".key", gpt2_file).to(device_).requires_grad_(true),
                                at(e, "past." + l + ".value", gpt2_file).to(device_).requires_grad_(true)});
            }
            const auto out = net.forward(at(e, "ids_new", gpt2_file).to(device_), past);
            const auto last = out.logits.select(1, out.logits.size(1) - 1);  // (B, vocab)
            (-(at(e, "loss_target", gpt2_file).to(device_) * torch::log_softmax(last, -1)).sum()).backward();
            for (size_t i = 0; i < past.size(); ++i)
                for (const char* kv : {"key", "value"}) {
                    const auto& want = at(e, "grad." + std::to_string(i) + "." + kv, gpt2_file);
                    const auto& got = kv[0] == 'k' ? past[i].key.grad() : past[i].value.grad();
                    compare(c, got, want,
                            tolerance::float32_transformer(4, 128, want.abs().max().item<double>(),
                                                           "forward + backward through 2 blocks, float32"));
                }
        });
        for (const std::string name : {"minilm", "mpnet"})
            check(name + " sentence embeddings", [&](SelftestCheck& c) {
                const fs::path file = nets / (name + "_tiny_expected.safetensors");
                const auto e = read_tensors(file);
                const auto encoder = SentenceEncoder::load(nets / (name + "_tiny"), device_, dtype_);
                const auto& mask = at(e, "attention_mask", file);
                const auto ids = rows_of(at(e, "ids", file), mask.sum(1));
                const auto& want = at(e, "embeddings", file);
                compare(c, encoder.encode(ids), want, net_tolerance(2, 64, want, "2 blocks, 64-wide MLP"));
            });
        check("stage 2: masked attention with global subtraction", [&](SelftestCheck& c) {
            const fs::path file = data_ / "embedding" / "embedding_expected.safetensors";
            const SafetensorsFile f = SafetensorsFile::open(file);
            const auto get = [&](const std::string& n, torch::ScalarType t) {
                const auto* view = f.find(n);
                if (!view) throw Error("selftest data '" + file.string() + "' lacks the tensor '" + n + "'");
                return tensor_from_view(*view, f, torch::kCPU, t).clone();
            };
            const auto clip = ClipVision::load(nets / "clip-vit-l14-336-tiny", device_, dtype_);
            SegmentEmbedder embedder(clip, EmbeddingParams{});
            embedder.set_image(clip_preprocess(get("rgb", torch::kUInt8), clip.image_size()));
            const auto want = get("default.embeddings", torch::kFloat32);
            compare(c, embedder.embed(get("masks", torch::kFloat32)), want, net_tolerance(5, 577, want, "5 blocks, 577 tokens"));
        });
    }

private:
    fs::path data_;
    torch::Device device_;
    torch::ScalarType dtype_;
    SelftestReport& report_;
};

}  // namespace

SelftestReport run_selftest(const fs::path& data_dir, const std::string& device, const std::string& precision) {
    if (data_dir.empty() || !fs::is_directory(data_dir / "nets"))
        throw Error("selftest data not found ('" + data_dir.string() +
                    "' has no nets/ folder); give --data the share/zgseg/selftest folder of a bundle or tests/data of a checkout");
    const torch::Device dev = device_from_flag(device);
    torch::ScalarType dtype = torch::kFloat32;
    if (precision == "fp16" || precision == "bf16") {
        if (!dev.is_cuda()) throw UsageError("--precision " + precision + " needs --device cuda (CPU runs in fp32)");
        dtype = precision == "fp16" ? torch::kFloat16 : torch::kBFloat16;
    } else if (precision != "fp32") {
        throw UsageError("--precision must be fp32, fp16 or bf16, not '" + precision + "'");
    }
    // float32 means float32: no TF32 in cuDNN convolutions or cuBLAS matmuls.
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
    SelftestReport report;
    report.device = dev.is_cuda() ? "cuda" : "cpu";
    report.precision = precision;
    report.data_dir = data_dir.string();
    Runner(data_dir, dev, dtype, report).run_all();
    return report;
}

}  // namespace zgseg
