#include "after/batch_folder.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/json_bounded.hpp"
#include "core/model_dir.hpp"
#include "io/output_files.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::after {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_summary_name(const std::string& filename) {
    return filename == "summary.json" || (filename.rfind("summary-shard-", 0) == 0 && ends_with(filename, ".json"));
}

struct Found {
    bool json = false, embeddings = false, overlay = false;
};

}  // namespace

FileStamp file_stamp(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

bool BatchFolder::is_input(const fs::path& path) const {
    std::error_code ec;
    const fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
    for (const auto& s : summaries)
        if (p == s) return true;
    for (const auto& image : images)
        if (p == image.json || p == image.embeddings || p == image.overlay || p == image.label_map) return true;
    return false;
}

BatchFolder scan_batch(const fs::path& out) {
    std::error_code ec;
    if (!fs::exists(out, ec)) throw Error("batch folder '" + out.string() + "' does not exist; give the -o folder of zgseg batch");
    if (!fs::is_directory(out, ec))
        throw Error("'" + out.string() + "' is not a folder; give the -o folder of zgseg batch");
    BatchFolder batch;
    batch.root = fs::canonical(out, ec);
    if (ec) throw Error("cannot read the batch folder '" + out.string() + "': " + ec.message());

    // base (OUT-relative, no extension) → which of the image's files exist.
    std::map<std::string, Found> bases;
    const std::string_view json = output_file(OutputKind::Json).suffix,
                           embeddings = output_file(OutputKind::Embeddings).suffix,
                           overlay = output_file(OutputKind::Overlay).suffix;
    const std::string root_prefix = (batch.root / "").native();  // ends with '/'
    fs::recursive_directory_iterator it(batch.root, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) throw Error("cannot list the batch folder '" + out.string() + "': " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) throw Error("cannot list the batch folder '" + out.string() + "': " + ec.message());
        if (!it->is_regular_file(ec)) continue;
        // OUT-relative by string slicing: lexically_relative costs microseconds
        // a file, and a search scans every file of the batch.
        const std::string& full = it->path().native();
        const std::string rel = full.substr(std::min(full.size(), root_prefix.size()));
        if (it.depth() == 0 && is_summary_name(rel)) {
            batch.summaries.push_back(it->path());
        } else if (ends_with(rel, embeddings)) {
            bases[rel.substr(0, rel.size() - embeddings.size())].embeddings = true;
        } else if (ends_with(rel, overlay)) {
            bases[rel.substr(0, rel.size() - overlay.size())].overlay = true;
        } else if (ends_with(rel, json)) {
            bases[rel.substr(0, rel.size() - json.size())].json = true;
        }
    }
    for (const auto& [name, found] : bases) {
        if (!found.embeddings && !found.overlay) continue;  // a JSON file that is not an image's
        const fs::path base = batch.root / fs::path(name);
        if (!found.json)
            throw Error("image '" + name + "' in '" + out.string() + "' is half-written: '" + base.string() +
                        ".json' is missing; finish it with zgseg batch SRC -o OUT --resume, or delete its files");
        const OutputPaths paths(base);
        BatchImage image;
        image.name = name;
        image.json = paths.json();
        image.embeddings = paths.of(OutputKind::Embeddings);
        image.overlay = paths.of(OutputKind::Overlay);
        image.label_map = paths.of(OutputKind::LabelMap);
        batch.images.push_back(std::move(image));
    }
    // Two stat() calls an image decide whether a search index is fresh; on
    // 10^5 images they are most of a search's time, so they run on two threads.
    const auto stamp = [&](size_t begin, size_t end) {
        for (size_t i = begin; i < end; ++i) {
            batch.images[i].json_stamp = file_stamp(batch.images[i].json);
            batch.images[i].embeddings_stamp = file_stamp(batch.images[i].embeddings);
        }
    };
    const size_t half = batch.images.size() / 2;
    if (half >= 2048) {
        std::thread other(stamp, half, batch.images.size());
        stamp(0, half);
        other.join();
    } else {
        stamp(0, batch.images.size());
    }
    std::sort(batch.summaries.begin(), batch.summaries.end());
    if (batch.images.empty() && batch.summaries.empty())
        throw Error("'" + out.string() + "' is not a zgseg batch folder (no NAME.json next to NAME.embeddings.safetensors "
                    "or NAME.overlay.jpg, no summary.json); give the -o folder of zgseg batch");
    for (const auto& s : batch.summaries) {
        std::ifstream in(s);
        try {
            const auto j = parse_bounded_json(in);
            if (j.contains("failures") && j["failures"].is_array())
                for (const auto& f : j["failures"]) batch.failures.push_back(f);
        } catch (const nlohmann::json::exception& e) {
            throw Error("batch summary '" + s.string() + "' is not valid JSON (" + e.what() +
                        "); re-run zgseg batch SRC -o OUT --resume to rewrite it");
        }
    }
    return batch;
}

nlohmann::json read_image_json(const BatchImage& image) {
    std::ifstream in(image.json, std::ios::binary);
    if (!in) throw Error("cannot read '" + image.json.string() + "'");
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json doc;
    try {
        doc = parse_bounded_json(text.str());
    } catch (const nlohmann::json::exception&) {
        throw Error("'" + image.json.string() + "' is truncated or not valid JSON; redo the image with zgseg batch SRC -o OUT "
                    "--resume (or delete its files)");
    }
    if (!doc.is_object() || doc.value("schema_version", 0) != 1 || !doc.contains("segments") || !doc["segments"].is_array())
        throw Error("'" + image.json.string() + "' is not a zgseg output (schema_version 1 with a segments array); "
                    "remove it from the batch folder or redo the image with zgseg batch --resume");
    for (const auto& s : doc["segments"]) {
        const bool ok = s.is_object() && s.contains("id") && s["id"].is_number_integer() && s.contains("label") &&
                        s["label"].is_string() && s.contains("mask") && s["mask"].is_object();
        if (!ok)
            throw Error("'" + image.json.string() + "' has a segment without an integer id, a label or a mask; "
                        "redo the image with zgseg batch --resume");
    }
    return doc;
}

std::string recorded_clip_model(const nlohmann::json& doc) {
    const auto models = doc.find("models");
    if (models == doc.end() || !models->is_object()) return "";
    const auto clip = models->find(kClipFolder);
    if (clip == models->end() || !clip->is_object()) return "";
    return clip->value("config_sha256", std::string());
}

void refuse_input_destination(const BatchFolder& batch, const fs::path& destination) {
    if (batch.is_input(destination))
        throw Error("'" + destination.string() + "' is a file of the batch itself; choose another output path "
                    "(zgseg never writes over its inputs, even with --overwrite)");
}

}  // namespace zgseg::after
