#include "cli/image_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "core/model_dir.hpp"
#include "core/sha256.hpp"
#include "io/image_loader.hpp"
#include "io/input_guard.hpp"
#include "io/outputs.hpp"
#include "zgseg/error.hpp"
#include "zgseg/pipeline.hpp"

namespace fs = std::filesystem;

namespace zgseg::cli {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string format_duration(double seconds) {
    const int s = static_cast<int>(seconds);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    return buf;
}

nlohmann::json models_json(const ModelDirectory& models) {
    nlohmann::json j = {{"folder", models.root().string()}};
    for (const char* net : {"dino-vits8", "clip-vit-large-patch14-336"}) {
        const auto config = models.folder(net) / "config.json";
        j[net] = {{"config_sha256", fs::exists(config) ? sha256_file(config) : ""}};
    }
    return j;
}

// An image after decoding and stage 1.
struct Prepared {
    size_t index = 0;
    LoadedImage image;
    std::string sha256;
    std::optional<StartedImage> started;
};

// An image being decoded and run through stage 1 on another thread.
struct Pending {
    size_t index = 0;
    std::future<Prepared> future;
};

// An image after stages 2–4, waiting for its outputs.
struct Finished {
    size_t index = 0;
    LoadedImage image;
    std::string sha256;
    PipelineResult result;
};

class ImageRunner {
public:
    ImageRunner(const std::vector<WorkItem>& items, const ModelDirectory& models, const RunSettings& settings,
                bool progress)
        : items_(items), models_(models), settings_(settings), progress_(progress), models_json_(models_json(models)) {}

    RunSummary run() {
        start_ = std::chrono::steady_clock::now();
        // Every input is protected before the first output is written: an
        // earlier image's outputs must not replace a later image either.
        for (const auto& item : items_) protect_input(item.input);

        std::optional<Pending> next = start_next();
        std::future<void> writing;  // the previous image's outputs
        while (next) {
            std::optional<Prepared> prepared = take(*next);
            next.reset();
            // Overlap: the next image's stage 1 runs while this one finishes.
            if (overlapping()) next = start_next();
            if (prepared) {
                std::optional<Finished> finished = finish(std::move(*prepared));
                collect(writing);
                if (finished) writing = std::async(std::launch::async, [this, f = std::move(*finished)] { write(f); });
                if (!overlapping()) collect(writing);
            }
            if (!next) next = start_next();
        }
        collect(writing);
        if (progress_) std::fprintf(stderr, "\n");
        std::sort(failures_.begin(), failures_.end());
        for (const auto& [index, error] : failures_)
            summary_.failures.push_back({{"input", items_[index].input.string()}, {"error", error}});
        summary_.seconds = seconds_since(start_);
        return summary_;
    }

private:
    // Checks items from next_ on (on this thread, in order) until one needs
    // work, and starts its decoding and stage 1 on another thread.
    std::optional<Pending> start_next() {
        while (next_ < items_.size()) {
            const size_t index = next_++;
            try {
                if (!needs_work(index)) {
                    {
                        std::lock_guard<std::mutex> lock(report_mutex_);
                        ++summary_.skipped_complete;
                    }
                    report_progress();
                    continue;
                }
                return Pending{index, std::async(std::launch::async, [this, index] { return prepare(index); })};
            } catch (const UsageError&) {
                throw;
            } catch (const Error& e) {
                fail(index, e.what());
            }
        }
        return std::nullopt;
    }

    // Cheap checks that refuse an image before any compute; false: skip it (--resume).
    bool needs_work(size_t index) {
        const auto& item = items_[index];
        const fs::path base = settings_.out_dir / item.name;
        if (!names_.insert(item.name).second)
            throw Error("another input already writes '" + base.string() + ".*'; rename one of them");
        const auto paths = output_paths(base);
        for (const auto& p : {paths.json, paths.png, paths.embeddings, paths.overlay})
            refuse_output_over_input(p);  // whatever --overwrite / --resume say
        if (settings_.resume && outputs_complete(base)) return false;
        if (!settings_.overwrite && !settings_.resume)
            for (const auto& p : {paths.json, paths.png, paths.embeddings, paths.overlay})
                if (fs::exists(p)) throw Error("output '" + p.string() + "' already exists; pass --overwrite to replace it");
        return true;
    }

    Prepared prepare(size_t index) {
        Prepared p;
        p.index = index;
        p.image = load_image(items_[index].input);
        p.sha256 = sha256_file(items_[index].input);
        p.started = pipeline().start(p.image.rgb.data, p.image.rgb.cols, p.image.rgb.rows);
        return p;
    }

    // The networks, loaded by the first image that needs them (a batch of
    // finished or bad images never loads them).
    Pipeline& pipeline() {
        std::lock_guard<std::mutex> lock(pipeline_mutex_);
        if (!pipeline_) pipeline_ = Pipeline::load(models_, settings_.params, settings_.cache_dir);
        return *pipeline_;
    }

    bool overlapping() {
        std::lock_guard<std::mutex> lock(pipeline_mutex_);
        if (!pipeline_) return false;  // decided once the networks are loaded (and the device known)
        return settings_.overlap == "on" || (settings_.overlap == "auto" && pipeline_->device() == "cuda");
    }

    std::optional<Prepared> take(Pending& pending) {
        try {
            return pending.future.get();
        } catch (const UsageError&) {
            throw;
        } catch (const Error& e) {
            fail(pending.index, e.what());
        }
        return std::nullopt;
    }

    std::optional<Finished> finish(Prepared&& p) {
        try {
            Finished f;
            f.index = p.index;
            f.result = pipeline().finish(std::move(*p.started));
            f.image = std::move(p.image);
            f.sha256 = std::move(p.sha256);
            return f;
        } catch (const UsageError&) {
            throw;
        } catch (const Error& e) {
            fail(p.index, e.what());
        }
        return std::nullopt;
    }

    void write(const Finished& f) {
        const auto& item = items_[f.index];
        const fs::path base = settings_.out_dir / item.name;
        try {
            PipelineResult at_original = f.result;
            at_original.width = f.image.original_size.width;
            at_original.height = f.image.original_size.height;
            OutputContext ctx;
            ctx.input_path = item.input;
            ctx.input_sha256 = f.sha256;
            ctx.input_format = format_name(f.image.format);
            ctx.models = models_json_;
            ctx.parameters = settings_.parameters_json;
            ctx.save_tree = settings_.save_tree;
            ctx.overwrite = settings_.overwrite || settings_.resume;  // --resume redoes incomplete outputs
            fs::create_directories(base.parent_path());
            write_outputs(base, at_original, f.image.rgb, ctx);
            const auto segments = std::count_if(f.result.nodes.begin(), f.result.nodes.end(),
                                                [](const Node& n) { return n.final; });
            std::lock_guard<std::mutex> lock(report_mutex_);
            ++summary_.done;
            if (!progress_)
                spdlog::info("[{}/{}] {} → {}.json ({} segments)", f.index + 1, items_.size(), item.input.string(),
                             base.string(), segments);
        } catch (const Error& e) {
            fail(f.index, e.what());
        }
        report_progress();
    }

    // Waits for the previous image's outputs (their errors are recorded by write()).
    static void collect(std::future<void>& writing) {
        if (writing.valid()) writing.get();
    }

    void fail(size_t index, const std::string& error) {
        spdlog::error("{}: {}", items_[index].input.string(), error);
        {
            std::lock_guard<std::mutex> lock(report_mutex_);
            failures_.emplace_back(index, error);
        }
        report_progress();
    }

    void report_progress() {
        if (!progress_) return;
        std::lock_guard<std::mutex> lock(report_mutex_);
        const double elapsed = seconds_since(start_);
        const size_t finished = summary_.done + summary_.skipped_complete + failures_.size();
        const double rate = summary_.done > 0 ? summary_.done / elapsed : 0;
        const double eta = rate > 0 ? static_cast<double>(items_.size() - finished) / rate : 0;
        std::fprintf(stderr, "\r[%zu/%zu] %.2f img/min, ETA %s   ", finished, items_.size(), rate * 60,
                     format_duration(eta).c_str());
        std::fflush(stderr);
    }

    const std::vector<WorkItem>& items_;
    const ModelDirectory& models_;
    const RunSettings& settings_;
    const bool progress_;
    const nlohmann::json models_json_;
    std::chrono::steady_clock::time_point start_;

    size_t next_ = 0;
    std::set<std::string> names_;
    std::mutex pipeline_mutex_, report_mutex_;
    std::unique_ptr<Pipeline> pipeline_;
    RunSummary summary_;
    std::vector<std::pair<size_t, std::string>> failures_;
};

}  // namespace

RunSummary run_images(const std::vector<WorkItem>& items, const ModelDirectory& models, const RunSettings& settings,
                      bool progress) {
    return ImageRunner(items, models, settings, progress).run();
}

}  // namespace zgseg::cli
