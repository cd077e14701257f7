// The smoke driver: a fuzz target without libFuzzer, for the default test
// suite (any compiler). Replays every file of the given corpus folders, then
// feeds mutated copies of them (bit flips, byte edits, cuts, splices; fixed
// seed) until the time is up. A zgseg::Error is caught by the target; any
// other exception or a signal fails the test and leaves the input in
// smoke-crash-input (the working folder) for `fuzz_<target> smoke-crash-input`.
//
//   smoke_<target> [--seconds S] [--seed N] CORPUS_DIR...
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Bytes = std::vector<uint8_t>;

// The input being run, for the signal handler.
const Bytes* g_current = nullptr;

void save_current() {
    if (!g_current) return;
    const int fd = ::open("smoke-crash-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (!g_current->empty() && ::write(fd, g_current->data(), g_current->size()) < 0) {
    }
    ::close(fd);
}

void on_signal(int sig) {
    save_current();
    static const char msg[] = "smoke: crashed; the input is in smoke-crash-input\n";
    if (::write(2, msg, sizeof msg - 1) < 0) {
    }
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

void run(const Bytes& input) {
    g_current = &input;
    try {
        LLVMFuzzerTestOneInput(input.data(), input.size());
    } catch (...) {
        save_current();
        throw;
    }
    g_current = nullptr;
}

Bytes mutate(const std::vector<Bytes>& corpus, std::mt19937_64& rng) {
    auto pick = [&](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
    Bytes b = corpus[pick(corpus.size())];
    const int edits = 1 + static_cast<int>(pick(4));
    for (int e = 0; e < edits; ++e) {
        switch (pick(7)) {
            case 0:  // flip a bit
                if (!b.empty()) b[pick(b.size())] ^= static_cast<uint8_t>(1u << pick(8));
                break;
            case 1:  // set a byte to an interesting value
                if (!b.empty()) {
                    static const uint8_t kValues[] = {0, 1, 0x7f, 0x80, 0xff, '"', '{', '[', '\n'};
                    b[pick(b.size())] = kValues[pick(sizeof kValues)];
                }
                break;
            case 2:  // random byte
                if (!b.empty()) b[pick(b.size())] = static_cast<uint8_t>(rng());
                break;
            case 3:  // cut the tail (truncated files)
                b.resize(pick(b.size() + 1));
                break;
            case 4:  // erase a range
                if (!b.empty()) {
                    const size_t at = pick(b.size()), n = std::min(b.size() - at, 1 + pick(16));
                    b.erase(b.begin() + static_cast<long>(at), b.begin() + static_cast<long>(at + n));
                }
                break;
            case 5:  // insert random bytes
            {
                const size_t at = pick(b.size() + 1), n = 1 + pick(8);
                Bytes add(n);
                for (auto& x : add) x = static_cast<uint8_t>(rng());
                b.insert(b.begin() + static_cast<long>(at), add.begin(), add.end());
                break;
            }
            default:  // splice: head of this one, tail of another
            {
                const Bytes& other = corpus[pick(corpus.size())];
                const size_t cut = pick(b.size() + 1), from = pick(other.size() + 1);
                b.resize(cut);
                b.insert(b.end(), other.begin() + static_cast<long>(from), other.end());
                break;
            }
        }
    }
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 3;
    uint64_t seed = 1;
    std::vector<std::filesystem::path> dirs;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc) seconds = std::stod(argv[++i]);
        else if (a == "--seed" && i + 1 < argc) seed = std::stoull(argv[++i]);
        else dirs.emplace_back(a);
    }
    for (int sig : {SIGSEGV, SIGABRT, SIGFPE, SIGBUS, SIGILL}) std::signal(sig, on_signal);

    std::vector<std::filesystem::path> files;
    for (const auto& d : dirs)
        for (const auto& e : std::filesystem::recursive_directory_iterator(d))
            if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<Bytes> corpus;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (corpus.empty()) {
        std::fprintf(stderr, "smoke: no corpus files in the given folders\n");
        return 2;
    }

    size_t mutated = 0;
    try {
        run(Bytes{});
        for (const auto& input : corpus) run(input);
        std::mt19937_64 rng(seed);
        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (std::chrono::steady_clock::now() < end) {
            run(mutate(corpus, rng));
            ++mutated;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "smoke: uncaught %s; the input is in smoke-crash-input\n", e.what());
        return 1;
    }
    std::printf("smoke: %zu corpus inputs, %zu mutated inputs in %.1f s, no finding\n", corpus.size(), mutated,
                seconds);
    return 0;
}
