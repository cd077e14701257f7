// Batch: sharding covers every input exactly once; a run killed with SIGKILL
// resumes to complete, valid outputs with no temporary files left; overlapping
// images (--overlap on) changes no output.
#include <signal.h>
#include <sys/wait.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "cli_harness.hpp"

using namespace e2e;

TEST(BatchCli, ShardsPartitionTheInputs) {
    TempDir dir;
    // A list with duplicates and odd names (spaces, unicode).
    std::vector<std::string> names = {"a.jpg", "b c.jpg", "caf\xc3\xa9.jpg", "d.png", "e.jpg", "f g h.jpg",
                                      "\xe7\x8c\xab.jpg", "z.jpg", "y.jpg", "x.jpg", "w.webp"};
    std::string list;
    for (const auto& n : names) list += (dir.path / n).string() + "\n";
    list += (dir.path / "a.jpg").string() + "\n" + (dir.path / "z.jpg").string() + "\n";  // duplicates
    std::ofstream(dir.path / "list.txt") << list;
    const std::set<std::string> all = [&] {
        std::set<std::string> s;
        for (const auto& n : names) s.insert((dir.path / n).string());
        return s;
    }();
    for (int n = 1; n <= 7; ++n) {
        std::multiset<std::string> seen;
        for (int i = 0; i < n; ++i) {
            const auto r = run_zgseg("batch " + quote((dir.path / "list.txt").string()) + " -o " +
                                     quote((dir.path / "out").string()) + " --list --shard " + std::to_string(i) + "/" +
                                     std::to_string(n));
            ASSERT_EQ(r.exit_code, 0) << r.err;
            std::istringstream lines(r.out);
            for (std::string line; std::getline(lines, line);) seen.insert(line);
        }
        EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), all) << "N=" << n;
        EXPECT_EQ(seen.size(), all.size()) << "no overlap, N=" << n;
    }
}

TEST(BatchCli, KilledRunResumesToCompleteOutputs) {
    TempDir dir;
    const auto models = make_tiny_models(dir.path / "models");
    const auto in = dir.path / "in", out = dir.path / "out";
    fs::create_directories(in);
    for (const char* n : {"2011_000003.jpg", "2011_000006.jpg", "2011_000025.jpg"})
        for (int copy = 0; copy < 2; ++copy)
            fs::copy_file(kData / "voc-sample/JPEGImages" / n, in / (std::to_string(copy) + "_" + n));
    const std::string args = "batch " + quote(in.string()) + " -o " + quote(out.string()) + " --models " +
                             quote(models.string()) + " --vocab " + quote((kData / "models-tiny/vocab.txt").string()) +
                             " --cache-dir " + quote((dir.path / "cache").string()) + " --device cpu --threads 2";

    // Start, wait for the first finished image, then SIGKILL mid-way.
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        const std::string cmd = "exec " + quote(ZGSEG_BINARY) + " " + args + " >/dev/null 2>&1";
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    bool killed_mid_way = false;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) break;  // finished before we could kill it
        int jsons = 0;
        if (fs::exists(out))
            for (const auto& e : fs::directory_iterator(out)) jsons += e.path().extension() == ".json";
        if (jsons >= 1) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            killed_mid_way = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(killed_mid_way) << "the batch should still have been running after its first image";

    const auto r = run_zgseg(args + " --resume");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    int jsons = 0;
    for (const auto& e : fs::directory_iterator(out)) {
        EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << "left behind: " << e.path();
        if (e.path().extension() == ".json" && e.path().filename() != "summary.json") {
            ++jsons;
            const auto j = nlohmann::json::parse(slurp(e.path()));
            EXPECT_EQ(j["schema_version"], 1);
            EXPECT_FALSE(j["segments"].empty());
        }
    }
    EXPECT_EQ(jsons, 6);
    const auto summary = nlohmann::json::parse(slurp(out / "summary.json"));
    EXPECT_GE(summary["skipped_complete"].get<int>(), 1);
    EXPECT_EQ(summary["failed"], 0);
    EXPECT_EQ(summary["done"].get<int>() + summary["skipped_complete"].get<int>(), 6);
}

// --overlap on runs stage 1 of the next image on another thread while this one
// finishes and the previous one's outputs are written: every output must be
// the same as one image at a time (--overlap off), byte for byte except the
// timings, and the order of failures in summary.json must not change.
TEST(BatchCli, OverlapChangesNoOutput) {
    TempDir dir;
    const auto models = make_tiny_models(dir.path / "models");
    const auto in = dir.path / "in";
    fs::create_directories(in);
    for (const char* n : {"2011_000003.jpg", "2011_000006.jpg", "2011_000025.jpg"}) {  // small copies: quick
        cv::Mat small;
        cv::resize(cv::imread((kData / "voc-sample/JPEGImages" / n).string()), small, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
        ASSERT_TRUE(cv::imwrite((in / n).string(), small));
    }
    std::ofstream(in / "broken.jpg") << "not a jpeg";  // fails in the decoding thread
    std::map<std::string, std::map<std::string, std::string>> files;  // overlap → file → bytes
    for (const std::string overlap : {"off", "on"}) {
        const auto out = dir.path / ("out-" + overlap);
        const auto r = run_zgseg("batch " + quote(in.string()) + " -o " + quote(out.string()) + " --models " +
                                 quote(models.string()) + " --vocab " + quote((kData / "models-tiny/vocab.txt").string()) +
                                 " --cache-dir " + quote((dir.path / "cache").string()) +
                                 " --device cpu --threads 1 --overlap " + overlap);
        EXPECT_EQ(r.exit_code, 1) << "broken.jpg fails: " << r.err;
        for (const auto& e : fs::directory_iterator(out)) {
            std::string bytes = slurp(e.path());
            if (e.path().extension() == ".json") {  // timings differ from run to run
                auto j = nlohmann::json::parse(bytes);
                j.erase("timings_seconds");
                j.erase("seconds");
                bytes = j.dump();
            }
            files[overlap][e.path().filename().string()] = bytes;
        }
    }
    ASSERT_EQ(files["off"].size(), 3u * 4 + 1) << "4 outputs per good image + summary.json";
    ASSERT_EQ(files["on"].size(), files["off"].size());
    for (const auto& [name, bytes] : files["off"]) EXPECT_EQ(files["on"][name], bytes) << name << " differs with --overlap on";
}
