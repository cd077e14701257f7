#include "after/segment_index.hpp"

#include <algorithm>
#include <cstring>

#include "after/ranking.hpp"
#include "core/safetensors.hpp"
#include "io/atomic_file.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::after {

namespace {

constexpr const char* kFormat = "zgseg-index";
constexpr const char* kVersion = "1";

// One image's segments as NAME.json lists them, checked against its embeddings file.
struct ImageSegments {
    std::vector<int> ids;
    std::vector<std::string> labels;
    std::string clip_model;
};

const TensorView& image_tensor(const SafetensorsFile& file, const BatchImage& image, int id, size_t& dim) {
    const std::string key = "segment/" + std::to_string(id) + "/image";
    const auto* t = file.find(key);
    if (!t || t->dtype != DType::F32 || t->shape.size() != 1 || t->shape[0] <= 0)
        throw Error("'" + image.embeddings.string() + "' has no float32 vector '" + key +
                    "' for a segment of its NAME.json; redo the image with zgseg batch --resume");
    if (dim == 0) dim = static_cast<size_t>(t->shape[0]);
    if (static_cast<size_t>(t->shape[0]) != dim)
        throw Error("'" + image.embeddings.string() + "' has " + std::to_string(t->shape[0]) + "-value embeddings, other " +
                    "images " + std::to_string(dim) + ": the batch mixes CLIP models; index each model's outputs apart");
    return *t;
}

SafetensorsFile open_embeddings(const BatchImage& image) {
    if (image.embeddings_stamp.size < 0)
        throw Error("image '" + image.name + "' is half-written: '" + image.embeddings.string() +
                    "' is missing; finish it with zgseg batch SRC -o OUT --resume, or delete its files");
    return SafetensorsFile::open(image.embeddings);
}

ImageSegments read_segments(const BatchImage& image, size_t& dim) {
    const auto doc = read_image_json(image);
    ImageSegments s;
    s.clip_model = recorded_clip_model(doc);
    const auto file = open_embeddings(image);
    for (const auto& seg : doc["segments"]) {
        s.ids.push_back(seg["id"].get<int>());
        s.labels.push_back(seg["label"].get<std::string>());
        image_tensor(file, image, s.ids.back(), dim);
    }
    return s;
}

// Normalised float32 rows of one image, in `ids` order, appended to `out`.
void append_rows(const BatchImage& image, const std::vector<int>& ids, size_t& dim, std::vector<float>& out) {
    const auto file = open_embeddings(image);
    for (int id : ids) {
        const auto& t = image_tensor(file, image, id, dim);
        std::vector<float> v(dim);
        std::memcpy(v.data(), t.data, dim * sizeof(float));
        normalize(v);
        out.insert(out.end(), v.begin(), v.end());
    }
}

void check_same_model(std::string& model, const std::string& found, const std::string& where) {
    if (model.empty()) model = found;
    if (found != model)
        throw Error("'" + where + "' was made by another CLIP model (config sha256 " + found.substr(0, 12) + "…, other images " +
                    model.substr(0, 12) + "…): the batch mixes models; search each model's outputs apart");
}

}  // namespace

fs::path index_path(const BatchFolder& batch) { return batch.root / "zgseg-index.safetensors"; }

SegmentIndex SegmentIndex::open(const fs::path& path) {
    const auto file = SafetensorsFile::open(path);
    const auto bad = [&](const std::string& why) {
        return Error("'" + path.string() + "' is not a usable zgseg index (" + why + "); delete it and run zgseg index OUT");
    };
    const auto& meta = file.metadata();
    if (!meta.count("format") || meta.at("format") != kFormat) throw bad("no format=zgseg-index metadata");
    const std::string version = meta.count("version") ? meta.at("version") : "?";
    if (version != kVersion) throw bad("version " + version + ", this zgseg reads " + kVersion);
    const auto get = [&](const char* name, DType dtype, size_t rank) -> const TensorView& {
        const auto* t = file.find(name);
        if (!t || t->dtype != dtype || t->shape.size() != rank) throw bad(std::string("tensor '") + name + "' missing or mis-typed");
        return *t;
    };
    SegmentIndex index;
    index.keep_ = file.mapping();
    index.clip_model_ = meta.count("clip_model") ? meta.at("clip_model") : "";
    const auto& emb = get("embeddings", DType::F16, 2);
    index.rows_ = static_cast<size_t>(emb.shape[0]);
    index.dim_ = static_cast<size_t>(emb.shape[1]);
    index.embeddings_ = reinterpret_cast<const uint16_t*>(emb.data);
    const auto& ids = get("segment_ids", DType::I32, 1);
    const auto& label_offsets = get("label_offsets", DType::I64, 1);
    const auto& labels = get("labels", DType::U8, 1);
    const auto& image_rows = get("image_rows", DType::I64, 1);
    const auto& name_offsets = get("image_name_offsets", DType::I64, 1);
    const auto& names = get("image_names", DType::U8, 1);
    const auto& stamps = get("image_stamps", DType::I64, 2);
    const size_t m = static_cast<size_t>(image_rows.shape[0]) - (image_rows.shape[0] > 0);
    if (static_cast<size_t>(ids.shape[0]) != index.rows_ || static_cast<size_t>(label_offsets.shape[0]) != index.rows_ + 1 ||
        image_rows.shape[0] < 1 || static_cast<size_t>(name_offsets.shape[0]) != m + 1 ||
        static_cast<size_t>(stamps.shape[0]) != m || stamps.shape[1] != 4)
        throw bad("tensor sizes disagree");
    index.segment_ids_ = reinterpret_cast<const int32_t*>(ids.data);
    index.label_offsets_ = reinterpret_cast<const int64_t*>(label_offsets.data);
    index.labels_ = reinterpret_cast<const char*>(labels.data);
    index.image_rows_ = reinterpret_cast<const int64_t*>(image_rows.data);
    index.stamps_ = reinterpret_cast<const int64_t*>(stamps.data);
    // Offsets must be monotone and inside their blobs, so no read goes astray.
    const auto monotone = [](const int64_t* o, size_t count, int64_t last) {
        if (o[0] != 0 || o[count - 1] != last) return false;
        for (size_t i = 1; i < count; ++i)
            if (o[i] < o[i - 1]) return false;
        return true;
    };
    const auto* no = reinterpret_cast<const int64_t*>(name_offsets.data);
    if (!monotone(index.label_offsets_, index.rows_ + 1, labels.shape[0]) || !monotone(no, m + 1, names.shape[0]) ||
        !monotone(index.image_rows_, m + 1, static_cast<int64_t>(index.rows_)))
        throw bad("offsets out of order");
    const char* nb = reinterpret_cast<const char*>(names.data);
    for (size_t i = 0; i < m; ++i) index.names_.emplace_back(nb + no[i], nb + no[i + 1]);
    if (!std::is_sorted(index.names_.begin(), index.names_.end())) throw bad("image names out of order");
    return index;
}

std::string SegmentIndex::label(size_t row) const {
    return std::string(labels_ + label_offsets_[row], labels_ + label_offsets_[row + 1]);
}

size_t SegmentIndex::image_of_row(size_t row) const {
    const auto* end = image_rows_ + names_.size() + 1;
    return static_cast<size_t>(std::upper_bound(image_rows_, end, static_cast<int64_t>(row)) - image_rows_) - 1;
}

int64_t SegmentIndex::find_image(const std::string& name) const {
    const auto it = std::lower_bound(names_.begin(), names_.end(), name);
    return it != names_.end() && *it == name ? it - names_.begin() : -1;
}

std::string Staleness::describe() const {
    return std::to_string(added) + " new, " + std::to_string(changed) + " changed, " + std::to_string(removed) +
           " removed image(s)";
}

Staleness compare_with_batch(const SegmentIndex& index, const BatchFolder& batch) {
    Staleness s;
    size_t matched = 0;
    for (const auto& image : batch.images) {
        const int64_t i = index.find_image(image.name);
        if (i < 0) {
            ++s.added;
            continue;
        }
        ++matched;
        const auto k = static_cast<size_t>(i);
        if (index.json_stamp(k) != image.json_stamp || index.embeddings_stamp(k) != image.embeddings_stamp) ++s.changed;
    }
    s.removed = index.images() - matched;
    return s;
}

IndexStats write_index(const BatchFolder& batch, const fs::path& destination, const SegmentIndex* previous) {
    // Pass 1: which rows each image has, reused from `previous` when unchanged.
    struct Plan {
        const BatchImage* image;
        int64_t reuse = -1;  // image index in `previous`
        ImageSegments segments;
    };
    std::vector<Plan> plans;
    IndexStats stats;
    size_t dim = 0;
    for (const auto& image : batch.images) {
        Plan p{&image, -1, {}};
        const int64_t k = previous ? previous->find_image(image.name) : -1;
        if (k >= 0 && previous->json_stamp(static_cast<size_t>(k)) == image.json_stamp &&
            previous->embeddings_stamp(static_cast<size_t>(k)) == image.embeddings_stamp) {
            p.reuse = k;
            if (dim == 0) dim = previous->dim();
            if (dim != previous->dim())
                throw Error("the old index has " + std::to_string(previous->dim()) + "-value embeddings, new images " +
                            std::to_string(dim) + ": the batch mixes CLIP models; index each model's outputs apart");
            for (size_t r = previous->image_row_begin(static_cast<size_t>(k)); r < previous->image_row_end(static_cast<size_t>(k)); ++r) {
                p.segments.ids.push_back(previous->segment_id(r));
                p.segments.labels.push_back(previous->label(r));
            }
            p.segments.clip_model = previous->clip_model();
            ++stats.reused_images;
        } else {
            p.segments = read_segments(image, dim);
            ++stats.read_images;
        }
        check_same_model(stats.clip_model, p.segments.clip_model, p.reuse >= 0 ? "the old index" : image.json.string());
        stats.rows += p.segments.ids.size();
        plans.push_back(std::move(p));
    }
    stats.images = plans.size();

    // Pass 2: stream the tensors (the embeddings never sit in memory at once).
    std::vector<int64_t> image_rows{0}, name_offsets{0}, label_offsets{0}, stamps;
    std::vector<int32_t> ids;
    std::string names, labels;
    for (const auto& p : plans) {
        image_rows.push_back(image_rows.back() + static_cast<int64_t>(p.segments.ids.size()));
        names += p.image->name;
        name_offsets.push_back(static_cast<int64_t>(names.size()));
        for (const int64_t v : {p.image->json_stamp.size, p.image->json_stamp.mtime_ns, p.image->embeddings_stamp.size,
                                p.image->embeddings_stamp.mtime_ns})
            stamps.push_back(v);
        for (size_t i = 0; i < p.segments.ids.size(); ++i) {
            ids.push_back(p.segments.ids[i]);
            labels += p.segments.labels[i];
            label_offsets.push_back(static_cast<int64_t>(labels.size()));
        }
    }
    const auto m = static_cast<int64_t>(plans.size()), n = static_cast<int64_t>(stats.rows);
    // The header's keys sorted; the tensors streamed in this order, 8-byte
    // types first, so every tensor starts aligned for its type.
    SafetensorsWriter writer({{"format", kFormat}, {"version", kVersion}, {"clip_model", stats.clip_model},
                              {"dim", std::to_string(dim)}},
                             SafetensorsWriter::HeaderOrder::Sorted);
    const auto raw = [](const auto& v) {
        return [&v](const SafetensorsWriter::Sink& sink) { sink(v.data(), v.size() * sizeof(v[0])); };
    };
    writer.add("image_stamps", DType::I64, {m, 4}, raw(stamps));
    writer.add("image_rows", DType::I64, {m + 1}, raw(image_rows));
    writer.add("image_name_offsets", DType::I64, {m + 1}, raw(name_offsets));
    writer.add("label_offsets", DType::I64, {n + 1}, raw(label_offsets));
    writer.add("segment_ids", DType::I32, {n}, raw(ids));
    writer.add("embeddings", DType::F16, {n, static_cast<int64_t>(dim)}, [&](const SafetensorsWriter::Sink& sink) {
        std::vector<float> rows;
        std::vector<uint16_t> half;
        for (const auto& p : plans) {
            if (p.reuse >= 0) {
                const size_t b = previous->image_row_begin(static_cast<size_t>(p.reuse));
                sink(previous->embeddings() + b * dim, p.segments.ids.size() * dim * sizeof(uint16_t));
                continue;
            }
            rows.clear();
            append_rows(*p.image, p.segments.ids, dim, rows);
            half.resize(rows.size());
            std::transform(rows.begin(), rows.end(), half.begin(), float_to_half);
            sink(half.data(), half.size() * sizeof(uint16_t));
        }
    });
    writer.add("image_names", DType::U8, {static_cast<int64_t>(names.size())}, raw(names));
    writer.add("labels", DType::U8, {static_cast<int64_t>(labels.size())}, raw(labels));
    write_file_atomic(destination, /*overwrite=*/true, [&](std::FILE* f) {
        writer.write([f](const void* data, size_t bytes) {
            if (std::fwrite(data, 1, bytes, f) != bytes) throw Error("cannot write the index (disk full?)");
        });
    });
    return stats;
}

LoadedSegments load_segments(const BatchFolder& batch) {
    LoadedSegments out;
    for (const auto& image : batch.images) {
        auto s = read_segments(image, out.dim);
        check_same_model(out.clip_model, s.clip_model, image.json.string());
        append_rows(image, s.ids, out.dim, out.embeddings);
        for (size_t i = 0; i < s.ids.size(); ++i) {
            out.image_names.push_back(image.name);
            out.labels.push_back(s.labels[i]);
            out.segment_ids.push_back(s.ids[i]);
        }
    }
    return out;
}

}  // namespace zgseg::after
