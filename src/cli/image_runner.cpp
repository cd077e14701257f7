#include "cli/image_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "core/model_dir.hpp"
#include "cli/stop_signal.hpp"
#include "core/sha256.hpp"
#include "core/timing.hpp"
#include "io/atomic_file.hpp"
#include "io/image_loader.hpp"
#include "io/input_guard.hpp"
#include "io/output_check.hpp"
#include "io/outputs.hpp"
#include "zgseg/error.hpp"
#include "zgseg/pipeline.hpp"

namespace fs = std::filesystem;

namespace zgseg::cli {

namespace {

std::string format_duration(double seconds) {
    const int s = static_cast<int>(seconds);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    return buf;
}

// Tests inject a failure that is not a zgseg::Error into the image whose file
// name is $ZGSEG_TEST_FAIL_IMAGE (as a std::filesystem::filesystem_error).
void maybe_inject_failure(const fs::path& input) {
    static const char* name = std::getenv("ZGSEG_TEST_FAIL_IMAGE");
    if (name != nullptr && input.filename() == name)
        throw fs::filesystem_error("injected failure (ZGSEG_TEST_FAIL_IMAGE)", input,
                                   std::make_error_code(std::errc::io_error));
}

// Where an image is in the run.
enum class ItemState { NotStarted, Skipped, InFlight, Done, Failed };

// An image after decoding and stage 1.
struct Prepared {
    size_t index = 0;
    LoadedImage image;
    InputStamp stamp;
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
    InputStamp stamp;
    std::string sha256;
    PipelineResult result;
};

class ImageRunner {
public:
    ImageRunner(const std::vector<WorkItem>& items, const ModelDirectory& models, const RunSettings& settings,
                bool progress, const std::function<void(const RunSummary&)>& record)
        : items_(items),
          models_(models),
          settings_(settings),
          progress_(progress),
          record_(record),
          models_json_(models_record(models)),
          states_(items.size(), ItemState::NotStarted) {}

    RunSummary run() {
        start_ = SteadyClock::now();
        StopSignals signals([this](int signo) { stop(signo); });
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
        if (stop_requested_) wait_for_the_stop();
        if (progress_) std::fprintf(stderr, "\n");
        RunSummary summary;
        {
            std::lock_guard<std::mutex> lock(report_mutex_);
            summary = snapshot();
        }
        if (record_) record_(summary);
        return summary;
    }

private:
    // Checks items from next_ on (on this thread, in order) until one needs
    // work, and starts its decoding and stage 1 on another thread.
    std::optional<Pending> start_next() {
        while (next_ < items_.size() && !stop_requested_) {
            const size_t index = next_++;
            try {
                if (!needs_work(index)) {
                    set_state(index, ItemState::Skipped);
                    report_progress();
                    continue;
                }
                set_state(index, ItemState::InFlight);
                return Pending{index, std::async(std::launch::async, [this, index] { return prepare(index); })};
            } catch (const UsageError&) {
                throw;
            } catch (const std::exception& e) {
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
        const auto paths = output_paths(base).all();
        for (const auto& p : paths) refuse_output_over_input(p);  // whatever --overwrite / --resume say
        if (settings_.resume) {
            const OutputCheck check = check_outputs(base, item.input, {settings_.parameters_json, models_json_});
            switch (check.verdict) {
                case OutputCheck::Verdict::Complete: return false;
                case OutputCheck::Verdict::Missing: return true;
                case OutputCheck::Verdict::Invalid:
                    spdlog::warn("resume: redoing {}: {} {}", item.input.string(), check.file.string(), check.problem);
                    count([](RunSummary& s) { ++s.redone_invalid; });
                    return true;
                case OutputCheck::Verdict::OtherSettings:
                    spdlog::info("resume: redoing {}: {} {}", item.input.string(), check.file.string(), check.problem);
                    count([](RunSummary& s) { ++s.redone_other_settings; });
                    return true;
            }
        }
        if (!settings_.overwrite && !settings_.resume)
            for (const auto& p : paths)
                if (fs::exists(p)) throw Error("output '" + p.string() + "' already exists; pass --overwrite to replace it");
        return true;
    }

    Prepared prepare(size_t index) {
        Prepared p;
        p.index = index;
        maybe_inject_failure(items_[index].input);
        p.stamp = input_stamp(items_[index].input);  // before reading: a change while we work is seen next time
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
        } catch (const std::exception& e) {
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
            f.stamp = p.stamp;
            f.sha256 = std::move(p.sha256);
            return f;
        } catch (const UsageError&) {
            throw;
        } catch (const std::exception& e) {
            fail(p.index, e.what());
        }
        return std::nullopt;
    }

    void write(const Finished& f) {
        const auto& item = items_[f.index];
        const fs::path base = settings_.out_dir / item.name;
        {
            std::lock_guard<std::mutex> lock(write_mutex_);
            if (stop_requested_) return;  // abandoned: the stop writes the summary
            writing_ = true;
        }
        try {
            PipelineResult at_original = f.result;
            at_original.width = f.image.original_size.width;
            at_original.height = f.image.original_size.height;
            OutputContext ctx;
            ctx.input_path = item.input;
            ctx.input_sha256 = f.sha256;
            ctx.input_stamp = f.stamp;
            ctx.input_format = format_name(f.image.format);
            ctx.models = models_json_;
            ctx.parameters = settings_.parameters_json;
            ctx.save_tree = settings_.save_tree;
            ctx.overwrite = settings_.overwrite || settings_.resume;  // --resume redoes incomplete outputs
            fs::create_directories(base.parent_path());
            {
                // The outputs are one result: a stop while they are written
                // removes those already in place. A redone image loses its old
                // NAME.json first, so until the new one lands it reads as unfinished.
                OutputGroup group(output_paths(base).json());
                if (ctx.overwrite) fs::remove(output_paths(base).json());
                write_outputs(base, at_original, f.image.rgb, ctx);
            }
            const auto segments = std::count_if(f.result.nodes.begin(), f.result.nodes.end(),
                                                [](const Node& n) { return n.final; });
            set_state(f.index, ItemState::Done);
            if (!progress_)
                spdlog::info("[{}/{}] {} → {}.json ({} segments)", f.index + 1, items_.size(), item.input.string(),
                             base.string(), segments);
        } catch (const std::exception& e) {
            if (!stop_requested_) fail(f.index, e.what());
        }
        {
            std::lock_guard<std::mutex> lock(write_mutex_);
            writing_ = false;
        }
        written_.notify_all();
        report_progress();
    }

    // Waits for the previous image's outputs (their errors are recorded by write()).
    static void collect(std::future<void>& writing) {
        if (writing.valid()) writing.get();
    }

    void fail(size_t index, const std::string& error) {
        if (stop_requested_) return;  // abandoned, not failed
        spdlog::error("{}: {}", items_[index].input.string(), error);
        {
            std::lock_guard<std::mutex> lock(report_mutex_);
            states_[index] = ItemState::Failed;
            errors_[index] = error;
        }
        report_progress();
    }

    void set_state(size_t index, ItemState state) {
        std::lock_guard<std::mutex> lock(report_mutex_);
        states_[index] = state;
    }

    template <typename Change>
    void count(Change change) {
        std::lock_guard<std::mutex> lock(report_mutex_);
        change(counts_);
    }

    // The summary as of now (report_mutex_ held).
    RunSummary snapshot() const {
        RunSummary s = counts_;
        s.inputs = items_.size();
        for (size_t i = 0; i < items_.size(); ++i) {
            const std::string input = items_[i].input.string();
            switch (states_[i]) {
                case ItemState::Done: ++s.done; s.done_inputs.push_back(input); break;
                case ItemState::Skipped: ++s.skipped_complete; break;
                case ItemState::Failed: s.failures.push_back({{"input", input}, {"error", errors_.at(i)}}); break;
                case ItemState::InFlight: s.abandoned.push_back(input); s.not_done.push_back(input); break;
                case ItemState::NotStarted: s.not_done.push_back(input); break;
            }
        }
        s.seconds = seconds_since(start_);
        return s;
    }

    // The run ended while a stop is under way: the signal thread ends the process.
    [[noreturn]] static void wait_for_the_stop() {
        for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    }

    // The first SIGTERM / SIGINT (on the signal thread): no new image; the
    // outputs being written get up to a second to land, then whatever is
    // unfinished is removed, the summary recorded, and the process ends.
    [[noreturn]] void stop(int signo) {
        {
            std::unique_lock<std::mutex> lock(write_mutex_);
            stop_requested_ = true;
            written_.wait_for(lock, std::chrono::seconds(1), [this] { return !writing_; });
        }
        abandon_unfinished_outputs();
        RunSummary s;
        {
            std::lock_guard<std::mutex> lock(report_mutex_);
            s = snapshot();
        }
        s.interrupted = true;
        s.signal = signal_name(signo);
        if (progress_) std::fprintf(stderr, "\n");
        try {
            if (record_) record_(s);
        } catch (const std::exception& e) {
            spdlog::error("could not record the summary: {}", e.what());
        }
        spdlog::warn("stopped by {}: {} done, {} abandoned, {} left; {}", s.signal, s.done + s.skipped_complete,
                     s.abandoned.size(), s.not_done.size() - s.abandoned.size(), settings_.after_stop);
        spdlog::default_logger()->flush();
        std::fflush(stderr);
        std::_Exit(kExitInterrupted);
    }

    void report_progress() {
        if (!progress_) return;
        std::lock_guard<std::mutex> lock(report_mutex_);
        const double elapsed = seconds_since(start_);
        size_t finished = 0, done = 0;
        for (const ItemState state : states_) {
            finished += state == ItemState::Done || state == ItemState::Skipped || state == ItemState::Failed;
            done += state == ItemState::Done;
        }
        const double rate = done > 0 ? done / elapsed : 0;
        const double eta = rate > 0 ? static_cast<double>(items_.size() - finished) / rate : 0;
        std::fprintf(stderr, "\r[%zu/%zu] %.2f img/min, ETA %s   ", finished, items_.size(), rate * 60,
                     format_duration(eta).c_str());
        std::fflush(stderr);
    }

    const std::vector<WorkItem>& items_;
    const ModelDirectory& models_;
    const RunSettings& settings_;
    const bool progress_;
    const std::function<void(const RunSummary&)>& record_;
    const nlohmann::json models_json_;
    SteadyClock::time_point start_;

    size_t next_ = 0;
    std::set<std::string> names_;
    std::mutex pipeline_mutex_, report_mutex_;
    std::unique_ptr<Pipeline> pipeline_;

    // Guarded by report_mutex_: each image's state, the failures' messages, the --resume counts.
    std::vector<ItemState> states_;
    std::map<size_t, std::string> errors_;
    RunSummary counts_;

    // A stop waits (briefly) for the outputs being written: guarded by write_mutex_.
    std::mutex write_mutex_;
    std::condition_variable written_;
    bool writing_ = false;
    std::atomic<bool> stop_requested_{false};
};

}  // namespace

nlohmann::json models_record(const ModelDirectory& models) {
    nlohmann::json j = {{"folder", models.root().string()}};
    for (const char* net : {kDinoFolder, kClipFolder}) {
        const auto config = models.folder(net) / "config.json";
        j[net] = {{"config_sha256", fs::exists(config) ? sha256_file(config) : ""}};
    }
    return j;
}

RunSummary run_images(const std::vector<WorkItem>& items, const ModelDirectory& models, const RunSettings& settings,
                      bool progress, const std::function<void(const RunSummary&)>& record) {
    return ImageRunner(items, models, settings, progress, record).run();
}

}  // namespace zgseg::cli
