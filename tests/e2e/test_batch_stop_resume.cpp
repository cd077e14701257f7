// Preemption-safe batches, through the binary (README "Batches on a cluster"):
// --resume checks every output it skips; SIGTERM / SIGINT stop cleanly within
// 2 s with an interrupted summary and no partial file; a second signal exits
// at once; Slurm array numbering maps to shards; a non-zgseg exception in one
// image is that image's failure; `zgseg status` tells the state.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "cli_harness.hpp"

using namespace e2e;
using Clock = std::chrono::steady_clock;

namespace {

const char* kPhotos[] = {"2011_000003.jpg", "2011_000006.jpg", "2011_000025.jpg"};

// A batch folder of `n` photos (copies of the VOC samples, scaled by `scale`).
struct Batch {
    TempDir dir;
    fs::path models, in, out;
    std::string args;  // batch IN -o OUT + the tiny models

    Batch(int n, double scale) {
        models = make_tiny_models(dir.path / "models");
        in = dir.path / "in";
        out = dir.path / "out";
        fs::create_directories(in);
        for (int i = 0; i < n; ++i) {
            cv::Mat photo = cv::imread((kData / "voc-sample/JPEGImages" / kPhotos[i % 3]).string()), scaled;
            cv::resize(photo, scaled, cv::Size(), scale, scale, cv::INTER_AREA);
            EXPECT_TRUE(cv::imwrite((in / ("img" + std::to_string(i) + ".jpg")).string(), scaled));
        }
        args = "batch " + quote(in.string()) + " -o " + quote(out.string()) + " --models " + quote(models.string()) +
               " --vocab " + quote((kData / "models-tiny/vocab.txt").string()) + " --cache-dir " +
               quote((dir.path / "cache").string()) + " --device cpu --threads 1 --dino-size 112";  // ~4x fewer DINO tokens: quick
    }
    fs::path base(int i) const { return out / ("img" + std::to_string(i)); }
    nlohmann::json summary() const { return nlohmann::json::parse(slurp(out / "summary.json")); }
};

// zgseg running in the background; stderr to a file.
struct Background {
    pid_t pid = -1;
    fs::path err;
    Background(const std::string& args, const fs::path& err_file, const std::string& env = "") : err(err_file) {
        pid = fork();
        if (pid == 0) {
            const std::string cmd = env + " exec " + quote(ZGSEG_BINARY) + " " + args + " >/dev/null 2>" + quote(err.string());
            execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
    }
    // The exit status (code, or 128 + signal), or -1 on timeout.
    int wait(std::chrono::seconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            int status = 0;
            if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return -1;
    }
};

int count_jsons(const fs::path& out) {
    int n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out, ec))
        n += e.path().extension() == ".json" && e.path().filename().string().rfind("summary", 0) != 0;
    return n;
}

// Waits until at least `n` images are finished; false after `timeout`.
bool wait_for_jsons(const fs::path& out, int n, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (count_jsons(out) >= n) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

// No temporary file, and every image with any output file has its NAME.json.
void expect_no_partial_files(const fs::path& out) {
    std::map<std::string, std::set<std::string>> files;  // base → suffixes
    for (const auto& e : fs::directory_iterator(out)) {
        const std::string name = e.path().filename().string();
        EXPECT_EQ(name.find(".tmp-"), std::string::npos) << "temporary file left: " << name;
        if (name.rfind("summary", 0) == 0) continue;
        const auto dot = name.find('.');
        files[name.substr(0, dot)].insert(name.substr(dot));
    }
    for (const auto& [base, suffixes] : files)
        EXPECT_EQ(suffixes, (std::set<std::string>{".json", ".png", ".embeddings.safetensors", ".overlay.jpg"}))
            << base << " is partial";
}

int64_t mtime_ns(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return -1;
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

void truncate_file(const fs::path& p, size_t keep) { fs::resize_file(p, keep); }

}  // namespace

// Each kind of damage is found and redone, with one line naming the file and
// the check; whole outputs are skipped.
TEST(BatchResume, ChecksEveryOutputItSkips) {
    Batch b(3, 0.3);
    ASSERT_EQ(run_zgseg(b.args).exit_code, 0);
    struct Damage {
        const char* what;
        std::function<void()> apply;
        int image;
        std::string expected;  // in the log line
    };
    const std::vector<Damage> damages = {
        {"label map cut to 300 bytes", [&] { truncate_file(b.base(0).string() + ".png", 300); }, 0, ".png"},
        {"label map with a flipped byte",
         [&] {
             const fs::path p = b.base(1).string() + ".png";
             std::string bytes = slurp(p);
             bytes[bytes.size() / 2] ^= 0x40;
             std::ofstream(p, std::ios::binary) << bytes;
         },
         1, "CRC"},
        {"overlay cut", [&] { truncate_file(b.base(2).string() + ".overlay.jpg", fs::file_size(b.base(2).string() + ".overlay.jpg") - 10); }, 2, "EOI"},
        {"embeddings cut", [&] { truncate_file(b.base(0).string() + ".embeddings.safetensors", 100); }, 0, ".embeddings.safetensors"},
        {"JSON cut", [&] { truncate_file(b.base(1).string() + ".json", 200); }, 1, "not valid JSON"},
        {"JSON without segments",
         [&] {
             auto j = nlohmann::json::parse(slurp(b.base(2).string() + ".json"));
             j.erase("segments");
             std::ofstream(b.base(2).string() + ".json") << j.dump();
         },
         2, "segments"},
        {"JSON naming a tensor the embeddings lack",
         [&] {
             auto j = nlohmann::json::parse(slurp(b.base(0).string() + ".json"));
             j["segments"][0]["embedding_keys"]["image"] = "segment/999/image";
             std::ofstream(b.base(0).string() + ".json") << j.dump();
         },
         0, "segment/999/image"},
        {"another input under the same name",
         [&] {
             cv::Mat photo = cv::imread((b.in / "img1.jpg").string());
             cv::flip(photo, photo, 1);
             cv::imwrite((b.in / "img1.jpg").string(), photo);
         },
         1, "another version of the input"},
    };
    // Three at a time, one per image (the list alternates images 0, 1, 2).
    for (size_t first = 0; first < damages.size(); first += 3) {
        const size_t last = std::min(first + 3, damages.size());
        nlohmann::json redone = nlohmann::json::array();
        for (size_t i = first; i < last; ++i) {
            damages[i].apply();
            redone.push_back((b.in / ("img" + std::to_string(damages[i].image) + ".jpg")).string());
        }
        const auto r = run_zgseg(b.args + " --resume");
        EXPECT_EQ(r.exit_code, 0) << r.err;
        const auto s = b.summary();
        const int n = static_cast<int>(last - first);
        EXPECT_EQ(s["done"], n) << r.err;
        EXPECT_EQ(s["redone_invalid"], n) << r.err;
        EXPECT_EQ(s["skipped_complete"], 3 - n) << r.err;
        auto done = s["done_inputs"];
        std::sort(done.begin(), done.end());
        std::sort(redone.begin(), redone.end());
        EXPECT_EQ(done, redone);
        for (size_t i = first; i < last; ++i) {
            const auto& d = damages[i];
            const std::string input = (b.in / ("img" + std::to_string(d.image) + ".jpg")).string();
            // One line per redone image, naming the file and the check that failed.
            const auto at = r.err.find("resume: redoing " + input);
            ASSERT_NE(at, std::string::npos) << d.what << ": " << r.err;
            const std::string line = r.err.substr(at, r.err.find('\n', at) - at);
            EXPECT_NE(line.find(d.expected), std::string::npos) << d.what << ": " << line;
        }
    }

    // A touched input with the same bytes is still the same input (hashed once, then skipped).
    const auto later = fs::last_write_time(b.in / "img2.jpg") + std::chrono::hours(1);
    fs::last_write_time(b.in / "img2.jpg", later);
    auto r = run_zgseg(b.args + " --resume");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(b.summary()["skipped_complete"], 3) << r.err;

    // Other settings: whole, but not this run's; counted apart.
    r = run_zgseg(b.args + " --resume --seed 7");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto s = b.summary();
    EXPECT_EQ(s["redone_other_settings"], 3);
    EXPECT_EQ(s["redone_invalid"], 0);
    EXPECT_EQ(s["done"], 3);
    r = run_zgseg(b.args + " --resume --seed 7");
    EXPECT_EQ(b.summary()["skipped_complete"], 3) << r.err;
    expect_no_partial_files(b.out);
}

// The first SIGTERM / SIGINT: exit 75 within 2 s, interrupted summary, no
// partial file; --resume then finishes without recomputing a finished image.
class BatchStop : public ::testing::TestWithParam<std::tuple<int, std::string>> {};

TEST_P(BatchStop, StopsCleanlyAndResumes) {
    const auto [signo, overlap] = GetParam();
    Batch b(6, 1.0);
    Background run(b.args + " --overlap " + overlap, b.dir.path / "err.txt");
    ASSERT_TRUE(wait_for_jsons(b.out, 1, std::chrono::seconds(240))) << slurp(run.err);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // into the next image
    const auto sent = Clock::now();
    kill(run.pid, signo);
    const int code = run.wait(std::chrono::seconds(30));
    const double seconds = std::chrono::duration<double>(Clock::now() - sent).count();
    const std::string err = slurp(run.err);
    ASSERT_EQ(code, 75) << err;
    EXPECT_LE(seconds, 2.0) << "the stop must end within 2 s of the signal";
    const std::string name = signo == SIGTERM ? "SIGTERM" : "SIGINT";
    EXPECT_NE(err.find("stopped by " + name), std::string::npos) << err;
    EXPECT_NE(err.find("rerun with --resume"), std::string::npos) << err;

    const auto s = b.summary();
    EXPECT_EQ(s["interrupted"], true);
    EXPECT_EQ(s["signal"], name);
    const int done = s["done"].get<int>();
    EXPECT_EQ(done, count_jsons(b.out));
    EXPECT_GE(done, 1);
    EXPECT_EQ(s["not_done"].size(), 6u - done);
    EXPECT_LE(s["abandoned"].size(), 2u);
    EXPECT_EQ(s["done_inputs"].size(), static_cast<size_t>(done));
    expect_no_partial_files(b.out);

    std::map<std::string, int64_t> finished;
    for (const auto& input : s["done_inputs"]) {
        const std::string stem = fs::path(input.get<std::string>()).stem().string();
        finished[stem] = mtime_ns(b.out / (stem + ".json"));
    }
    const auto r = run_zgseg(b.args + " --resume --overlap " + overlap);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto after = b.summary();
    EXPECT_EQ(after["interrupted"], false);
    EXPECT_EQ(after["skipped_complete"], done);
    EXPECT_EQ(after["done"], 6 - done);
    EXPECT_EQ(after["redone_invalid"], 0) << r.err;
    for (const auto& [stem, time] : finished) EXPECT_EQ(mtime_ns(b.out / (stem + ".json")), time) << stem << " was redone";
    EXPECT_EQ(count_jsons(b.out), 6);
}

INSTANTIATE_TEST_SUITE_P(Signals, BatchStop,
                         ::testing::Values(std::make_tuple(SIGTERM, std::string("off")),
                                           std::make_tuple(SIGINT, std::string("off")),
                                           std::make_tuple(SIGTERM, std::string("on"))),
                         [](const auto& info) {
                             return std::string(std::get<0>(info.param) == SIGTERM ? "TERM" : "INT") + "_overlap_" +
                                    std::get<1>(info.param);
                         });

// A second signal exits at once; what is on disk is still whole.
TEST(BatchStop, SecondSignalExitsAtOnce) {
    Batch b(4, 1.0);
    Background run(b.args, b.dir.path / "err.txt");
    ASSERT_TRUE(wait_for_jsons(b.out, 1, std::chrono::seconds(240))) << slurp(run.err);
    kill(run.pid, SIGTERM);
    kill(run.pid, SIGTERM);
    const auto sent = Clock::now();
    const int code = run.wait(std::chrono::seconds(30));
    EXPECT_LE(std::chrono::duration<double>(Clock::now() - sent).count(), 1.0);
    EXPECT_TRUE(code == 128 + SIGTERM || code == 75) << code << ": " << slurp(run.err);
    // Whatever landed is whole: --resume finds nothing damaged.
    const auto r = run_zgseg(b.args + " --resume");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(b.summary()["redone_invalid"], 0) << r.err;
    EXPECT_EQ(count_jsons(b.out), 4);
}

// Slurm numbers array tasks as the user wrote --array; every evenly spaced
// array covers the inputs once; an uneven list is refused before any work.
TEST(BatchShards, SlurmArraysCoverEveryInputOnce) {
    TempDir dir;
    std::string list;
    std::set<std::string> all;
    for (int i = 0; i < 23; ++i) {
        const std::string p = (dir.path / ("p" + std::to_string(i) + ".jpg")).string();
        list += p + "\n";
        all.insert(p);
    }
    std::ofstream(dir.path / "list.txt") << list;
    const std::string cmd = "batch " + quote((dir.path / "list.txt").string()) + " -o " + quote((dir.path / "out").string()) +
                            " --list --shard slurm";
    struct Array {
        std::string spec;  // as given to sbatch --array
        std::vector<int> ids;
        int step;
    };
    const std::vector<Array> arrays = {{"0-3", {0, 1, 2, 3}, 1},    {"1-4", {1, 2, 3, 4}, 1},
                                       {"0-7%2", {0, 1, 2, 3, 4, 5, 6, 7}, 1}, {"5", {5}, 1},
                                       {"10-40:10", {10, 20, 30, 40}, 10}};
    for (const auto& a : arrays) {
        std::multiset<std::string> seen;
        const int min = a.ids.front(), max = a.ids.back();
        for (int id : a.ids) {
            const std::string env = "SLURM_ARRAY_TASK_ID=" + std::to_string(id) + " SLURM_ARRAY_TASK_MIN=" +
                                    std::to_string(min) + " SLURM_ARRAY_TASK_MAX=" + std::to_string(max) +
                                    " SLURM_ARRAY_TASK_COUNT=" + std::to_string(a.ids.size()) +
                                    " SLURM_ARRAY_TASK_STEP=" + std::to_string(a.step) + " ";
            const std::string full = "env " + env + quote(ZGSEG_BINARY) + " " + cmd;
            FILE* pipe = popen(full.c_str(), "r");
            ASSERT_NE(pipe, nullptr);
            char line[4096];
            while (fgets(line, sizeof line, pipe)) {
                std::string l(line);
                if (!l.empty() && l.back() == '\n') l.pop_back();
                seen.insert(l);
            }
            EXPECT_EQ(pclose(pipe), 0) << a.spec << " task " << id;
        }
        EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), all) << "--array=" << a.spec;
        EXPECT_EQ(seen.size(), all.size()) << "an input in two shards, --array=" << a.spec;
    }
    // --array=1,5,9 when Slurm reports no step: refused, saying what to use.
    const std::string uneven = "env SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=9 "
                               "SLURM_ARRAY_TASK_COUNT=3 " + quote(ZGSEG_BINARY) + " " + cmd + " 2>&1";
    FILE* pipe = popen(uneven.c_str(), "r");
    std::string text;
    char buf[4096];
    while (fgets(buf, sizeof buf, pipe)) text += buf;
    const int status = pclose(pipe);
    EXPECT_EQ(WEXITSTATUS(status), 2) << text;
    EXPECT_NE(text.find("--array=0-2"), std::string::npos) << text;
    // Outside an array, and a 1-based I/N, say what to do.
    auto r = run_zgseg(cmd);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("SLURM_ARRAY_TASK_ID"), std::string::npos) << r.err;
    r = run_zgseg("batch " + quote((dir.path / "list.txt").string()) + " -o " + quote((dir.path / "out").string()) +
                  " --list --shard 4/4");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--shard slurm"), std::string::npos) << r.err;
}

// Any exception from one image's work (here a std::filesystem::filesystem_error,
// injected) is that image's failure: the batch goes on.
TEST(BatchFailures, ANonZgsegExceptionFailsOnlyItsImage) {
    Batch b(3, 0.4);
    Background run(b.args, b.dir.path / "err.txt", "ZGSEG_TEST_FAIL_IMAGE=img1.jpg");
    EXPECT_EQ(run.wait(std::chrono::seconds(240)), 1) << slurp(run.err);
    const auto s = b.summary();
    EXPECT_EQ(s["done"], 2);
    ASSERT_EQ(s["failures"].size(), 1u);
    EXPECT_EQ(s["failures"][0]["input"], (b.in / "img1.jpg").string());
    EXPECT_NE(s["failures"][0]["error"].get<std::string>().find("injected failure"), std::string::npos);
    EXPECT_EQ(slurp(run.err).find("internal error"), std::string::npos);
}

// `zgseg status` over a batch: interrupted, failed, done, other settings.
TEST(BatchStatus, TellsWhatIsDoneFailedAndLeft) {
    Batch b(4, 0.4);
    std::ofstream(b.in / "broken.jpg") << "not a jpeg";
    const std::string status = "status " + quote(b.in.string()) + " -o " + quote(b.out.string()) + " --json";
    auto r = run_zgseg(b.args + " --shard 0/2");
    EXPECT_EQ(r.exit_code, 1) << r.err;  // broken.jpg is in shard 0 (sorted first)
    r = run_zgseg(status);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["inputs"], 5);
    EXPECT_EQ(j["done"], 2);
    ASSERT_EQ(j["failed"].size(), 1u);
    EXPECT_EQ(j["failed"][0]["input"], (b.in / "broken.jpg").string());
    EXPECT_EQ(j["not_started"].size(), 2u);
    EXPECT_TRUE(j["interrupted"].empty());

    r = run_zgseg(b.args + " --shard 1/2 --seed 3");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    j = nlohmann::json::parse(run_zgseg(status).out);
    EXPECT_EQ(j["done"], 2) << "the newest summary's settings are current";
    EXPECT_EQ(j["other_settings"].size(), 2u);
    EXPECT_EQ(j["not_started"].size(), 0u);
    j = nlohmann::json::parse(run_zgseg(status + " --check").out);
    EXPECT_EQ(j["done"], 2);
    EXPECT_EQ(j["other_settings"].size(), 2u);
    r = run_zgseg("status " + quote(b.in.string()) + " -o " + quote(b.out.string()));
    EXPECT_NE(r.out.find("failed          1"), std::string::npos) << r.out;
}
