#include "stages/captioning/candidate_texts.hpp"

#include <algorithm>
#include <unordered_map>

#include "core/timing.hpp"
#include "zgseg/error.hpp"

namespace zgseg {

namespace {

// FLOPs of ClipText::encode on these lengths: sorted, chunked by the tower's
// batch size, each chunk run at its longest length with causal attention.
double true_length_flops(const ClipText& tower, std::vector<int64_t> lengths) {
    std::sort(lengths.begin(), lengths.end());
    double flops = 0;
    const size_t batch = static_cast<size_t>(tower.batch_size());
    for (size_t start = 0; start < lengths.size(); start += batch) {
        const size_t end = std::min(lengths.size(), start + batch);
        const int64_t B = static_cast<int64_t>(end - start), L = lengths[end - 1];
        flops += tower.flops(B * L, B * L * (L + 1) / 2);
    }
    return flops;
}

int64_t common_prefix(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return static_cast<int64_t>(i);
}

}  // namespace

torch::Tensor CandidateTextEncoder::encode(const std::vector<std::string>& prefixes,
                                           const std::vector<std::vector<std::string>>& candidates) {
    const auto start_time = SteadyClock::now();
    torch::NoGradGuard no_grad;
    if (prefixes.size() != candidates.size() || prefixes.empty())
        throw Error("candidate texts: one prefix per row of candidates is needed");
    const int64_t R = static_cast<int64_t>(prefixes.size());
    const int64_t K = static_cast<int64_t>(candidates[0].size());
    for (const auto& row : candidates)
        if (static_cast<int64_t>(row.size()) != K) throw Error("candidate texts: rows differ in length");

    // Unique strings (or every string when dedupe is off), grouped by the row
    // that first asks for them; slot[r·K + k] = the unique string's index, or
    // −1 − c for a string found in row c of the step cache.
    std::vector<std::vector<int64_t>> ids;
    std::vector<int64_t> row_of_unique;
    std::vector<std::string> unique_texts;  // kept only for the step cache
    std::vector<int64_t> slot(static_cast<size_t>(R * K));
    std::unordered_map<std::string, int64_t> seen;
    const size_t max_length = static_cast<size_t>(tower_.max_length());
    int64_t hits = 0;
    for (int64_t r = 0; r < R; ++r) {
        for (int64_t k = 0; k < K; ++k) {
            std::string text = prefixes[r] + candidates[r][k];
            if (options_.step_cache) {
                const auto it = cache_rows_.find(text);
                if (it != cache_rows_.end()) {
                    slot[r * K + k] = -1 - it->second;
                    ++hits;
                    continue;
                }
            }
            if (options_.dedupe) {
                const auto it = seen.find(text);
                if (it != seen.end()) {
                    slot[r * K + k] = it->second;
                    continue;
                }
                seen.emplace(text, static_cast<int64_t>(ids.size()));
            }
            slot[r * K + k] = static_cast<int64_t>(ids.size());
            const auto tokens = tokenizer_.encode_for_text_tower(text, max_length).ids;
            ids.emplace_back(tokens.begin(), tokens.end());
            row_of_unique.push_back(r);
            if (options_.step_cache) unique_texts.push_back(std::move(text));
        }
    }
    const int64_t U = static_cast<int64_t>(ids.size());
    stats_.calls += 1;
    stats_.strings += R * K;
    stats_.strings_encoded += U;
    stats_.cache_hits += hits;
    const int64_t L = options_.reference_length;
    stats_.reference_flops += static_cast<double>(R * K) * tower_.flops(L, L * L);

    // Groups: the strings of one row, or all rows together (one_batch).
    std::vector<std::vector<int64_t>> groups(options_.one_batch ? 1 : static_cast<size_t>(R));
    for (int64_t u = 0; u < U; ++u) groups[options_.one_batch ? 0 : row_of_unique[u]].push_back(u);

    torch::Tensor features;  // (U, D)
    if (U == 0) {
        // Every string is in the step cache.
    } else if (options_.prefix_cache) {
        // Prefixes are per row (a row's strings share "context + "); the batching is per group.
        for (const auto& group : groups) {
            std::vector<std::vector<int64_t>> members(static_cast<size_t>(R));  // unique indices per row
            for (int64_t u : group) members[row_of_unique[u]].push_back(u);
            std::vector<std::vector<std::vector<int64_t>>> rows;
            std::vector<int64_t> run_order;  // unique index of each string in the order they are run
            for (const auto& row : members) {
                if (row.empty()) continue;
                rows.emplace_back();
                for (int64_t u : row) {
                    rows.back().push_back(ids[u]);
                    run_order.push_back(u);
                }
            }
            auto part = run_prefix_cached(rows);
            if (!features.defined()) features = torch::empty({U, part.size(1)}, part.options());
            features.index_copy_(0, torch::tensor(run_order, torch::kLong).to(part.device()), part);
        }
    } else {
        for (const auto& group : groups) {
            std::vector<std::vector<int64_t>> group_ids;
            for (int64_t u : group) group_ids.push_back(ids[u]);
            auto part = run_full(group_ids);
            if (!features.defined()) features = torch::empty({U, part.size(1)}, part.options());
            features.index_copy_(0, torch::tensor(group, torch::kLong).to(part.device()), part);
        }
    }
    if (U > 0)
        features = torch::nn::functional::normalize(features.to(torch::kFloat32),
                                                    torch::nn::functional::NormalizeFuncOptions().dim(1));
    torch::Tensor out;  // (R·K, D)
    if (options_.step_cache) {
        // New strings go to cache rows [cached_, cached_ + U); every slot becomes a cache row.
        if (U > 0) {
            const int64_t need = cached_ + U;
            if (!cache_.defined() || need > cache_.size(0)) {
                auto grown = torch::empty({std::max<int64_t>(need, 2 * (cache_.defined() ? cache_.size(0) : 0)),
                                           features.size(1)}, features.options());  // (capacity, D)
                if (cached_ > 0) grown.slice(0, 0, cached_).copy_(cache_.slice(0, 0, cached_));
                cache_ = grown;
            }
            cache_.slice(0, cached_, need).copy_(features);
            for (int64_t u = 0; u < U; ++u) cache_rows_[std::move(unique_texts[u])] = cached_ + u;
        }
        for (auto& s : slot) s = s < 0 ? -1 - s : cached_ + s;
        cached_ += U;
        out = cache_.index_select(0, torch::tensor(slot, torch::kLong).to(cache_.device()));
    } else {
        out = features.index_select(0, torch::tensor(slot, torch::kLong).to(features.device()));
    }
    stats_.seconds += seconds_since(start_time);
    return out.view({R, K, out.size(1)});
}

void CandidateTextEncoder::begin_step() {
    cache_rows_.clear();
    cached_ = 0;  // the buffer is kept for the next step
}

torch::Tensor CandidateTextEncoder::run_full(const std::vector<std::vector<int64_t>>& ids) {
    if (options_.true_length) {
        std::vector<int64_t> lengths;
        for (const auto& s : ids) {
            lengths.push_back(static_cast<int64_t>(s.size()));
            stats_.tokens += static_cast<int64_t>(s.size());
        }
        stats_.flops += true_length_flops(tower_, lengths);
        return tower_.encode(ids);
    }
    const int64_t L = options_.reference_length;
    stats_.tokens += static_cast<int64_t>(ids.size()) * L;
    stats_.flops += static_cast<double>(ids.size()) * tower_.flops(L, L * L);
    return tower_.encode_padded(ids, L);
}

torch::Tensor CandidateTextEncoder::run_prefix_cached(const std::vector<std::vector<std::vector<int64_t>>>& groups) {
    // Per row: the longest token prefix shared by all its strings, leaving at
    // least one token (and the pooled token) to each string's suffix.
    std::vector<std::vector<int64_t>> prefixes;
    std::vector<int64_t> prefix_of, pool;
    std::vector<std::vector<int64_t>> suffixes;
    for (size_t g = 0; g < groups.size(); ++g) {
        const auto& strings = groups[g];
        int64_t shared = static_cast<int64_t>(strings[0].size()) - 1;
        for (const auto& s : strings) {
            shared = std::min(shared, common_prefix(strings[0], s));
            shared = std::min(shared, static_cast<int64_t>(s.size()) - 1);
            shared = std::min(shared, tower_.pooling_position(s));
        }
        shared = std::max<int64_t>(shared, 1);  // the start token is always shared
        prefixes.emplace_back(strings[0].begin(), strings[0].begin() + shared);
        for (const auto& s : strings) {
            prefix_of.push_back(static_cast<int64_t>(g));
            suffixes.emplace_back(s.begin() + shared, s.end());
            pool.push_back(tower_.pooling_position(s) - shared);
        }
    }
    // FLOPs as run: prefixes padded to the longest, suffixes sorted and chunked,
    // each chunk attending to the padded prefix keys plus its own causal keys.
    int64_t P = 0;
    for (const auto& p : prefixes) P = std::max<int64_t>(P, static_cast<int64_t>(p.size()));
    const int64_t Np = static_cast<int64_t>(prefixes.size());
    stats_.tokens += Np * P;
    stats_.flops += tower_.flops(Np * P, Np * P * (P + 1) / 2);
    std::vector<int64_t> lengths;
    for (const auto& s : suffixes) lengths.push_back(static_cast<int64_t>(s.size()));
    std::sort(lengths.begin(), lengths.end());
    const size_t batch = static_cast<size_t>(tower_.batch_size());
    for (size_t start = 0; start < lengths.size(); start += batch) {
        const size_t end = std::min(lengths.size(), start + batch);
        const int64_t B = static_cast<int64_t>(end - start), T = lengths[end - 1];
        stats_.tokens += B * T;
        stats_.flops += tower_.flops(B * T, B * T * P + B * T * (T + 1) / 2);
    }
    return tower_.encode_suffixes(tower_.encode_prefixes(prefixes), prefix_of, suffixes, pool);
}

}  // namespace zgseg
