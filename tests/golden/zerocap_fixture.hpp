// Shared by the ZeroCap golden tests (test_zerocap.cpp: the small default
// fixture; test_zerocap_slow.cpp: the full-size one): the fixture's networks,
// expected values, and comparisons |got − expected| ≤ atol + rtol·|expected|
// that print their largest difference.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "golden/net_fixtures.hpp"
#include "tolerance.hpp"
#include "stages/captioning/zerocap.hpp"

namespace zgseg::testing {

// The largest |got − expected| and the largest share of the bound it uses (≤ 1 passes).
struct Diff {
    double max_abs = 0, worst = 0;
    void add(double got, double expected, Bound t) {
        const double d = std::abs(got - expected);
        max_abs = std::max(max_abs, d);
        worst = std::max(worst, std::isfinite(d) ? d / t.at(expected) : INFINITY);
    }
    void add(const torch::Tensor& got, const torch::Tensor& expected, Bound t) {
        EXPECT_EQ(got.sizes(), expected.sizes());
        if (got.sizes() != expected.sizes()) return add(0.0, INFINITY, t);
        const auto g = got.detach().to(torch::kCPU, torch::kFloat64), e = expected.detach().to(torch::kCPU, torch::kFloat64);
        const auto d = (g - e).abs();
        max_abs = std::max(max_abs, d.max().item<double>());
        worst = std::max(worst, (d / (t.atol + t.rtol * e.abs())).max().item<double>());
    }
    // Prints "[max diff] what: …" (collected for the README).
    void print(const std::string& what, Bound t) const {
        std::cout << "[max diff] " << what << ": " << max_abs << " (atol " << t.atol << ", rtol " << t.rtol << "; "
                  << worst << " of the bound)\n";
    }
    // Prints, and checks the bound.
    void check(const std::string& what, Bound t) const {
        print(what, t);
        EXPECT_LE(worst, 1.0) << what << ": max |diff| " << max_abs;
    }
};

// Smallest margin of the discrete choices seen, as a multiple of its tolerance.
struct Margins {
    std::map<std::string, double> smallest;  // kind → min margin / bound
    void add(const std::string& kind, double margin, double value, Bound t) {
        auto [it, fresh] = smallest.emplace(kind, INFINITY);
        it->second = std::min(it->second, margin / t.at(value));
    }
    // A choice can flip only if the two sides move by more than the margin:
    // ≥ 100 × the tolerance leaves room for 50× worse rounding than the bound.
    // A choice closer than its tolerance: either side may have chosen the other branch.
    bool near_tie() const {
        for (const auto& [kind, m] : smallest)
            if (m < 1) return true;
        return false;
    }
    // enforce = false only reports (the full-size fixture, see test_zerocap_slow.cpp).
    void check(const std::string& what, double factor, bool enforce = true) const {
        for (const auto& [kind, m] : smallest) {
            std::cout << "[margin] " << what << " " << kind << ": " << m << "x the tolerance\n";
            if (enforce) {
                EXPECT_GE(m, factor) << what << ": a near-tie in '" << kind << "' could flip on another machine";
            }
        }
    }
};

inline ZeroCapParams params_from(const nlohmann::json& j) {
    ZeroCapParams p;
    p.prompt = j.at("prompt");
    p.beam_size = j.at("beam_size");
    p.max_tokens = j.at("max_tokens");
    p.iterations = j.at("iterations");
    p.step_size = j.at("step_size");
    p.clip_scale = j.at("clip_scale");
    p.ce_scale = j.at("ce_scale");
    p.fusion_factor = j.at("fusion_factor");
    p.clip_candidates = j.at("candidates");
    p.clip_temperature = j.at("temperature");
    p.grad_norm_power = j.at("grad_norm_power");
    p.end_factor = j.at("end_factor");
    p.first_step_end_factor = j.at("first_step_end_factor");
    p.forbidden_factor = j.at("forbidden_factor");
    return p;
}

// The networks and expected values of one fixture folder.
struct ZeroCapData {
    fs::path folder;
    Gpt2 lm;
    Gpt2Tokenizer lm_tokenizer;
    ClipText clip;
    ClipTokenizer clip_tokenizer;
    std::map<std::string, torch::Tensor> expected;
    nlohmann::json json;

    ZeroCapData(const fs::path& data, const fs::path& fixture, const fs::path& gpt2)
        : folder(fixture),
          lm(Gpt2::load(gpt2, torch::kCPU)),
          lm_tokenizer(Gpt2Tokenizer::from_folder(gpt2)),
          clip(ClipText::load(data / "nets" / "clip-vit-l14-336-tiny", torch::kCPU, torch::kFloat32)),
          clip_tokenizer(ClipTokenizer::from_folder(data / "models-tiny" / "clip-tokenizer")),
          expected(read_tensors(fixture / "expected.safetensors")),
          json(nlohmann::json::parse(std::ifstream(fixture / "expected.json"))) {}

    bool has(const std::string& name) const { return expected.count(name) > 0; }
    const torch::Tensor& E(const std::string& name) const {
        auto it = expected.find(name);
        if (it == expected.end()) throw std::runtime_error("fixture lacks " + name);
        return it->second;
    }
    ZeroCapParams params(int setting) const { return params_from(json.at("settings").at(setting)); }
    ZeroCapGenerator generator(const ZeroCapParams& p, ZeroCapSpeedups speedups = {}) const {
        return ZeroCapGenerator(lm, lm_tokenizer, clip, clip_tokenizer, read_forbidden_tokens(folder / "forbidden_ids.txt"),
                                p, speedups);
    }
    ZeroCapGenerator generator(int setting, ZeroCapSpeedups speedups = {}) const { return generator(params(setting), speedups); }
    // (n, D) the fixture's first n image embeddings.
    torch::Tensor images(int n) const {
        std::vector<torch::Tensor> rows;
        for (int i = 0; i < n; ++i) rows.push_back(E("image" + std::to_string(i)));
        return torch::stack(rows);
    }
    const nlohmann::json& result(int setting, int image) const {
        for (const auto& r : json.at("results"))
            if (r.at("setting") == setting && r.at("image") == image) return r;
        throw std::runtime_error("fixture lacks a result");
    }
};

// Records every choice margin of `gen` into `margins`.
inline void trace_margins(ZeroCapGenerator& gen, Margins& margins, Bound logit, Bound score) {
    ZeroCapTrace trace;
    trace.on_choice = [&margins, logit, score](int, int, const std::string& kind, double margin, double value) {
        margins.add(kind, margin, value, kind == "logit" ? logit : score);
    };
    gen.set_trace(trace);
}

// The output order of one segment's beams (sorted by score) is a choice too.
inline void add_order_margins(const std::vector<ZeroCapBeam>& beams, Margins& margins, Bound score) {
    for (size_t i = 0; i + 1 < beams.size(); ++i)
        margins.add("score", beams[i].score - beams[i + 1].score, beams[i].score, score);
}

}  // namespace zgseg::testing
