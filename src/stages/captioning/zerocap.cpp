#include "stages/captioning/zerocap.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <set>

#include "core/timing.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

namespace {

const std::string kEndOfText = "<|endoftext|>";

std::string erase_all(std::string text, const std::string& what) {
    for (size_t pos; (pos = text.find(what)) != std::string::npos;) text.erase(pos, what.size());
    return text;
}

}  // namespace

std::vector<int64_t> read_forbidden_tokens(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw Error("cannot read the ZeroCap forbidden-token list '" + path.string() + "'; reinstall zgseg's models/ folder");
    std::vector<int64_t> ids;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.empty()) continue;
        size_t used = 0;
        long long id = -1;
        try {
            id = std::stoll(line, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != line.size() || id < 0)
            throw Error("ZeroCap forbidden-token list '" + path.string() + "' line " + std::to_string(n) +
                        " is not a token id: '" + line + "'");
        ids.push_back(id);
    }
    // Each id is scaled once (the reference's list has no repeats).
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

std::string zerocap_label(const std::string& beam) {
    std::string label = beam;
    if (!label.empty() && label.back() == '.') label.pop_back();
    for (char& c : label) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto first = label.find_first_not_of(" \t\n\r\f\v");
    if (first == std::string::npos) return "";
    const auto last = label.find_last_not_of(" \t\n\r\f\v");
    return label.substr(first, last - first + 1);
}

// ---- the generator ------------------------------------------------------------

struct ZeroCapGenerator::Search {
    int segment = 0;
    torch::Tensor context;  // (rows, T) int64 on the CPU: <|endoftext|> prompt generated...; rows 1 at step 0
    torch::Tensor gen;      // (B, t) int64 generated tokens, undefined before step 0
    torch::Tensor scores;   // (B) float32 sum of log-probabilities
    torch::Tensor lengths;  // (B) float32 tokens counted so far (frozen once stopped)
    torch::Tensor stopped;  // (B) bool, emitted "."
    bool done = false;
    int64_t rows() const { return context.size(0); }
};

ZeroCapGenerator::ZeroCapGenerator(const Gpt2& lm, const Gpt2Tokenizer& lm_tokenizer, const ClipText& clip_text,
                                   const ClipTokenizer& clip_tokenizer, std::vector<int64_t> forbidden_tokens,
                                   ZeroCapParams params, ZeroCapSpeedups speedups)
    : lm_(lm),
      lm_tokenizer_(lm_tokenizer),
      candidates_(clip_text, clip_tokenizer, speedups.clip),
      forbidden_(std::move(forbidden_tokens)),
      params_(std::move(params)),
      speedups_(speedups) {
    const int64_t vocab = lm_.config().vocab_size;
    if (params_.beam_size < 1 || params_.max_tokens < 1 || params_.iterations < 0 || params_.clip_candidates < 1)
        throw Error("ZeroCap needs beams, max tokens and candidates ≥ 1 and iterations ≥ 0");
    if (params_.clip_candidates > vocab || params_.beam_size > vocab)
        throw Error("ZeroCap candidates (" + std::to_string(params_.clip_candidates) + ") and beams exceed the GPT-2 vocabulary of " +
                    std::to_string(vocab));
    for (int64_t id : forbidden_)
        if (id >= vocab)
            throw Error("ZeroCap forbidden token " + std::to_string(id) + " is outside the GPT-2 vocabulary of " +
                        std::to_string(vocab) + "; the list does not belong to this model");
    const auto end = lm_tokenizer_.encode(".");
    if (end.empty()) throw Error("the GPT-2 tokenizer cannot encode '.'");
    end_token_ = end[0];  // as the reference: tokenizer.encode(".")[0]
    if (lm_tokenizer_.end_of_text_id() < 0) throw Error("the GPT-2 tokenizer has no <|endoftext|> token");
    context_tokens_ = lm_tokenizer_.encode(kEndOfText + params_.prompt);
    token_texts_.resize(static_cast<size_t>(vocab));
    token_text_known_.assign(static_cast<size_t>(vocab), false);
    speedups_.segments_per_batch = std::max(1, speedups_.segments_per_batch);
}

const std::string& ZeroCapGenerator::token_text(int64_t id) {
    if (!token_text_known_[id]) {
        token_texts_[id] = clean_up_tokenization(lm_tokenizer_.decode({static_cast<int32_t>(id)}));
        token_text_known_[id] = true;
    }
    return token_texts_[id];
}

std::string ZeroCapGenerator::context_text(const std::vector<int64_t>& tokens) const {
    // The reference decodes the whole context and deletes "<|endoftext|>".
    std::vector<int32_t> ids(tokens.begin(), tokens.end());
    return erase_all(clean_up_tokenization(lm_tokenizer_.decode(ids)), kEndOfText);
}

std::vector<std::vector<ZeroCapBeam>> ZeroCapGenerator::generate(const torch::Tensor& images) {
    if (images.dim() != 2) throw Error("ZeroCap expects image embeddings of shape (segments, dim)");
    const auto device = lm_.device();
    const auto unit_images = images.to(device, torch::kFloat32);
    const int S = static_cast<int>(images.size(0));
    std::vector<std::vector<ZeroCapBeam>> results(static_cast<size_t>(S));
    const auto prompt = torch::tensor(std::vector<int64_t>(context_tokens_.begin(), context_tokens_.end()),
                                      torch::kLong).view({1, -1});
    for (int first = 0; first < S; first += speedups_.segments_per_batch) {
        const int last = std::min(S, first + speedups_.segments_per_batch);
        std::vector<Search> searches(static_cast<size_t>(last - first));
        for (int s = first; s < last; ++s) {
            auto& search = searches[s - first];
            search.segment = s;
            search.context = prompt.clone();
        }
        for (int step = 0; step < params_.max_tokens; ++step) {
            std::vector<Search*> active;
            for (auto& search : searches)
                if (!search.done) active.push_back(&search);
            if (active.empty()) break;
            const auto log_probs = next_log_probs(step, active, unit_images).cpu();  // (Σ rows, V)
            int64_t row = 0;
            for (Search* search : active) {
                const int64_t rows = search->rows();
                advance(*search, log_probs.slice(0, row, row + rows), step);
                row += rows;
            }
            stats_.token_steps += static_cast<int64_t>(active.size());
        }
        for (const auto& search : searches) results[search.segment] = finish(search);
        stats_.segments += last - first;
    }
    stats_.clip = candidates_.stats();
    return results;
}

torch::Tensor ZeroCapGenerator::next_log_probs(int step, std::vector<Search*>& searches, const torch::Tensor& images) {
    const auto started = SteadyClock::now();
    const double clip_seconds_before = candidates_.stats().seconds;
    candidates_.begin_step();  // the contexts change: cached candidate features no longer apply
    const auto device = lm_.device();
    std::vector<torch::Tensor> contexts, image_rows;
    std::vector<std::string> texts;
    for (Search* search : searches) {
        contexts.push_back(search->context);
        image_rows.push_back(images[search->segment].unsqueeze(0).expand({search->rows(), images.size(1)}));
        for (int64_t r = 0; r < search->rows(); ++r) {
            const auto row = search->context[r].contiguous();
            texts.push_back(context_text({row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()}));
        }
    }
    const auto context = torch::cat(contexts).to(device);       // (R, T)
    const auto row_images = torch::cat(image_rows).contiguous();  // (R, D)
    const int64_t T = context.size(1);

    // The unshifted distribution p0 and the past of all context tokens but the
    // last, from one forward (the reference runs the context twice: once
    // without its last token for the past, once whole for p0).
    PastKeyValues past;
    torch::Tensor p0;
    {
        torch::NoGradGuard no_grad;
        auto out = lm_.forward(context, {}, {}, Gpt2::LogitsFor::Last);
        p0 = torch::softmax(out.logits.select(1, 0), -1);  // (R, V)
        for (auto& kv : out.presents)
            past.push_back({kv.key.slice(2, 0, T - 1).contiguous(), kv.value.slice(2, 0, T - 1).contiguous()});
    }
    const auto last = context.slice(1, T - 1, T);  // (R, 1)
    past = shift_past(step, last, past, p0, texts, row_images, searches);

    torch::NoGradGuard no_grad;
    auto logits = lm_.forward(last, past, {}, Gpt2::LogitsFor::Last).logits.select(1, 0).clone();  // (R, V)
    adjust_special_tokens(step, logits);
    auto probs = torch::softmax(logits, -1);
    probs = probs.pow(params_.fusion_factor) * p0.pow(1 - params_.fusion_factor);
    // Normalised over the whole (beams × vocabulary) tensor of each segment, as the reference.
    std::vector<torch::Tensor> parts;
    int64_t row = 0;
    for (Search* search : searches) {
        auto part = probs.slice(0, row, row + search->rows());
        part = part / part.sum();
        if (trace_.on_probs) trace_.on_probs(search->segment, step, part);
        parts.push_back(part);
        row += search->rows();
    }
    stats_.lm_seconds += seconds_since(started) - (candidates_.stats().seconds - clip_seconds_before);
    return torch::cat(parts).log();
}

PastKeyValues ZeroCapGenerator::shift_past(int step, const torch::Tensor& last, const PastKeyValues& past,
                                           const torch::Tensor& p0, const std::vector<std::string>& context_texts,
                                           const torch::Tensor& row_images, std::vector<Search*>& searches) {
    torch::AutoGradMode grad_on(true);
    const int64_t R = last.size(0);
    const int64_t K = params_.clip_candidates;
    PastKeyValues delta;
    for (const auto& kv : past) delta.push_back({torch::zeros_like(kv.key), torch::zeros_like(kv.value)});

    torch::Tensor previous;  // (R, V) log p of the previous iteration, for the stats
    for (int it = 0; it < params_.iterations; ++it) {
        std::vector<torch::Tensor> leaves;  // the shifts being differentiated, K then V per layer
        PastKeyValues shifted;
        for (size_t l = 0; l < past.size(); ++l) {
            leaves.push_back(delta[l].key.clone().requires_grad_(true));
            leaves.push_back(delta[l].value.clone().requires_grad_(true));
            shifted.push_back({past[l].key + leaves[2 * l], past[l].value + leaves[2 * l + 1]});
        }
        const auto logits = lm_.forward(last, shifted, {}, Gpt2::LogitsFor::Last).logits.select(1, 0);  // (R, V)
        const auto probs = torch::softmax(logits, -1);

        // CLIP loss: targets over each row's top-K tokens from CLIP similarity.
        const auto top = std::get<1>(probs.detach().topk(K, -1)).cpu().contiguous();  // (R, K)
        if (trace_.on_candidates) {
            int64_t row = 0;
            for (Search* search : searches) {
                const int64_t rows = search->rows();
                // Views: a hook's in-place copy lands in `top`.
                trace_.on_candidates(search->segment, step, it, logits.detach().slice(0, row, row + rows),
                                     top.slice(0, row, row + rows));
                row += rows;
            }
        }
        record_shift(torch::log_softmax(logits.detach(), -1), previous, top);
        if (trace_.on_choice && K < logits.size(1)) {
            const auto edge = std::get<0>(logits.detach().topk(K + 1, -1)).cpu().to(torch::kDouble);  // (R, K+1)
            int64_t row = 0;
            for (Search* search : searches)
                for (int64_t r = 0; r < search->rows(); ++r, ++row)
                    trace_.on_choice(search->segment, step, "logit",
                                     edge[row][K - 1].item<double>() - edge[row][K].item<double>(),
                                     edge[row][K - 1].item<double>());
        }
        std::vector<std::vector<std::string>> candidates(static_cast<size_t>(R));
        const int64_t* top_ids = top.data_ptr<int64_t>();
        for (int64_t r = 0; r < R; ++r)
            for (int64_t k = 0; k < K; ++k) candidates[r].push_back(token_text(top_ids[r * K + k]));
        torch::Tensor target;
        {
            torch::NoGradGuard no_grad;
            const auto features = candidates_.encode(context_texts, candidates).to(last.device());  // (R, K, D)
            const auto cosines = torch::matmul(features, row_images.unsqueeze(2)).squeeze(2);      // (R, K)
            target = torch::softmax(cosines / params_.clip_temperature, -1);
        }
        const auto top_device = top.to(last.device());
        const auto clip_loss = -(target * probs.gather(1, top_device).log()).sum();
        // Fluency: KL(p ‖ p0) per row.
        const auto ce = params_.ce_scale * (probs * probs.log() - probs * p0.log()).sum(-1);  // (R)
        const auto loss = params_.clip_scale * clip_loss + ce.sum();
        const auto grads = torch::autograd::grad({loss}, leaves);

        // Normalised step per (row, layer, K|V): −step · g / (‖g‖ + 1e−15)^power.
        PastKeyValues update;
        for (size_t l = 0; l < past.size(); ++l) {
            torch::Tensor u[2];
            for (int kv = 0; kv < 2; ++kv) {
                const auto& g = grads[2 * l + kv];  // (R, heads, S, hd)
                const auto norm = g.reshape({R, -1}).norm(2, 1).view({R, 1, 1, 1});
                u[kv] = (g / (norm + 1e-15).pow(params_.grad_norm_power)) * (-params_.step_size);
            }
            update.push_back({u[0], u[1]});
            delta[l].key = delta[l].key + u[0];
            delta[l].value = delta[l].value + u[1];
        }
        if (it == 0 && trace_.on_first_update) {
            int64_t row = 0;
            for (Search* search : searches) {
                PastKeyValues part;
                for (const auto& kv : update)
                    part.push_back({kv.key.slice(0, row, row + search->rows()),
                                    kv.value.slice(0, row, row + search->rows())});
                trace_.on_first_update(search->segment, step, part);
                row += search->rows();
            }
        }
        stats_.iterations += 1;
    }
    PastKeyValues out;
    for (size_t l = 0; l < past.size(); ++l)
        out.push_back({(past[l].key + delta[l].key).detach(), (past[l].value + delta[l].value).detach()});
    return out;
}

void ZeroCapGenerator::record_shift(const torch::Tensor& log_probs, torch::Tensor& previous, const torch::Tensor& top) {
    // log_probs, previous: (R, V); top: (R, K) on the CPU.
    const int64_t K = top.size(1), V = log_probs.size(1), R = log_probs.size(0);
    if (previous.defined() && K + 16 <= V && K > 16) {
        const auto ids = top.to(log_probs.device());
        const auto shift = (log_probs.gather(1, ids) - previous.gather(1, ids)).abs().mean(1);  // (R)
        const auto edge = std::get<0>(log_probs.topk(K + 16, -1));                            // (R, K+16)
        const auto spacing = (edge.select(1, K - 17) - edge.select(1, K + 15)) / 32;           // (R)
        stats_.shift_sum += shift.sum().item<double>();
        stats_.spacing_sum += spacing.sum().item<double>();
        stats_.shift_rows += R;
    }
    previous = log_probs;
}

void ZeroCapGenerator::adjust_special_tokens(int step, torch::Tensor& logits) const {
    // logits: (R, V). A factor f > 1 pushes a logit towards zero (divide) or
    // away from it (multiply) depending on its sign, as the reference does.
    auto end = logits.select(1, end_token_);  // (R), a view
    if (step >= 1) {
        const double f = params_.end_factor;
        end.copy_(torch::where(end > 0, end * f, end * (1 / f)));
    }
    if (step == 0) {
        const double f = params_.first_step_end_factor;
        end.copy_(torch::where(end > 0, end / f, end / (1 / f)));
    }
    if (!forbidden_.empty()) {
        const auto ids = torch::tensor(forbidden_, torch::kLong).to(logits.device());
        const auto x = logits.index_select(1, ids);  // (R, F)
        const double f = params_.forbidden_factor;
        logits.index_copy_(1, ids, torch::where(x > 0, x / f, x / (1 / f)));
    }
}

void ZeroCapGenerator::advance(Search& search, const torch::Tensor& log_probs, int step) const {
    // The reference's beam bookkeeping (generate_text), on the CPU.
    const int64_t B = params_.beam_size;
    const int64_t V = log_probs.size(1);
    torch::Tensor next;  // (B, 1)
    const auto note_choice = [&](const torch::Tensor& candidates) {  // (N) candidates, B of them chosen
        if (!trace_.on_choice || candidates.numel() <= B) return;
        const auto edge = std::get<0>(candidates.topk(B + 1)).to(torch::kDouble);  // (B+1)
        trace_.on_choice(search.segment, step, "score", edge[B - 1].item<double>() - edge[B].item<double>(),
                         edge[B - 1].item<double>());
    };
    if (step == 0) {
        note_choice(log_probs.view({-1}));
        auto [scores, tokens] = log_probs.topk(B, -1);  // (1, B)
        search.scores = scores.squeeze(0).contiguous();
        next = tokens.permute({1, 0}).contiguous();
        search.context = search.context.expand({B, search.context.size(1)}).contiguous();
        search.gen = next;
        search.lengths = torch::ones({B}, torch::kFloat32);
        search.stopped = torch::zeros({B}, torch::kBool);
    } else {
        auto logits = log_probs.clone();
        // A stopped beam may only "continue" with token 0 at no cost.
        logits.index_put_({search.stopped}, -std::numeric_limits<float>::infinity());
        logits.index_put_({search.stopped, 0}, 0.0);
        const auto total = search.scores.unsqueeze(1) + logits;  // (B, V)
        search.lengths.index_put_({~search.stopped}, search.lengths.index({~search.stopped}) + 1);
        const auto average = total / search.lengths.unsqueeze(1);
        note_choice(average.view({-1}));
        auto [best, flat] = average.view({-1}).topk(B, -1);
        const auto source = flat.div(V, "floor");
        search.lengths = search.lengths.index_select(0, source);
        next = flat.remainder(V).unsqueeze(1);
        search.gen = torch::cat({search.gen.index_select(0, source), next}, 1);
        search.context = search.context.index_select(0, source);
        search.scores = best * search.lengths;
        search.stopped = search.stopped.index_select(0, source);
    }
    search.context = torch::cat({search.context, next}, 1);
    search.stopped = search.stopped.logical_or(next.squeeze(1).eq(end_token_));
    if (search.stopped.all().item<bool>()) search.done = true;
}

std::vector<ZeroCapBeam> ZeroCapGenerator::finish(const Search& search) const {
    const auto normalised = search.scores / search.lengths;
    const auto order = normalised.argsort(/*dim=*/0, /*descending=*/true);
    std::vector<ZeroCapBeam> beams;
    for (int64_t i = 0; i < order.size(0); ++i) {
        const int64_t b = order[i].item<int64_t>();
        const int64_t n = static_cast<int64_t>(search.lengths[b].item<float>());
        ZeroCapBeam beam;
        const auto row = search.gen[b].slice(0, 0, n).contiguous();
        beam.tokens.assign(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + n);
        beam.text = clean_up_tokenization(lm_tokenizer_.decode(beam.tokens));
        beam.score = normalised[b].item<float>();
        beams.push_back(std::move(beam));
    }
    return beams;
}

// ---- the captioner --------------------------------------------------------------

std::vector<Caption> ZeroCapCaptioner::caption(const torch::Tensor& embeddings) {
    torch::NoGradGuard no_grad;
    const auto images = torch::nn::functional::normalize(embeddings.to(torch::kFloat32),
                                                         torch::nn::functional::NormalizeFuncOptions().dim(1));
    const auto beams = generator_->generate(images);
    std::vector<Caption> captions;
    for (size_t n = 0; n < beams.size(); ++n) {
        std::vector<std::string> prompts;
        for (const auto& beam : beams[n]) prompts.push_back(prompted(beam.text));
        // float32 whatever the text tower's precision (fp16/bf16 on CUDA).
        const auto text = reranker_.encode(prompts).to(images.device(), torch::kFloat32);  // (beams, D) normalised
        const auto cosines = torch::matmul(text, images[n]).cpu().contiguous();  // (beams)
        const int64_t best = cosines.argmax().item<int64_t>();
        Caption c;
        c.raw = beams[n][best].text;
        c.label = zerocap_label(c.raw);
        c.clip_score = cosines[best].item<float>();
        for (size_t b = 0; b < beams[n].size(); ++b)
            c.candidates.push_back({beams[n][b].text, beams[n][b].score, cosines[b].item<float>()});
        // Best (the label's beam) first, then by CLIP score.
        std::stable_sort(c.candidates.begin(), c.candidates.end(),
                         [](const CaptionCandidate& a, const CaptionCandidate& b) { return a.clip_score > b.clip_score; });
        const auto row = text[best].to(torch::kCPU).contiguous();
        c.text_embedding.assign(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
        captions.push_back(std::move(c));
    }
    return captions;
}

}  // namespace zgseg
