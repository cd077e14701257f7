#include "cli/stop_signal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "zgseg/error.hpp"

namespace zgseg::cli {

namespace {

// The async-signal handler only writes the signal number into a pipe (or, for
// the second signal, exits): everything else runs on the watcher thread.
std::atomic<int> g_write_fd{-1};
std::atomic<int> g_signals_seen{0};
struct sigaction g_previous_term {}, g_previous_int {};

void on_signal(int signo) {
    if (g_signals_seen.fetch_add(1) > 0) ::_exit(128 + signo);  // the second one: at once
    const int fd = g_write_fd.load();
    const unsigned char byte = static_cast<unsigned char>(signo);
    if (fd >= 0) {
        const int saved = errno;
        [[maybe_unused]] const ssize_t n = ::write(fd, &byte, 1);
        errno = saved;
    }
}

}  // namespace

const char* signal_name(int signo) {
    switch (signo) {
        case SIGTERM: return "SIGTERM";
        case SIGINT: return "SIGINT";
        default: return "a signal";
    }
}

StopSignals::StopSignals(std::function<void(int)> on_stop) : on_stop_(std::move(on_stop)) {
    if (::pipe2(pipe_, O_CLOEXEC) != 0) throw Error("cannot set up the signal handling (pipe2 failed)");
    g_signals_seen = 0;
    g_write_fd = pipe_[1];
    // The watcher waits for one byte: a signal number, or 0 from the destructor.
    watcher_ = std::thread([this] {
        unsigned char byte = 0;
        ssize_t n;
        do {
            n = ::read(pipe_[0], &byte, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1 && byte != 0) on_stop_(byte);
    });
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;  // the work in progress should not see EINTR
    ::sigaction(SIGTERM, &action, &g_previous_term);
    ::sigaction(SIGINT, &action, &g_previous_int);
}

StopSignals::~StopSignals() {
    ::sigaction(SIGTERM, &g_previous_term, nullptr);
    ::sigaction(SIGINT, &g_previous_int, nullptr);
    g_write_fd = -1;
    const unsigned char zero = 0;
    [[maybe_unused]] const ssize_t n = ::write(pipe_[1], &zero, 1);
    if (watcher_.joinable()) watcher_.join();
    ::close(pipe_[0]);
    ::close(pipe_[1]);
}

}  // namespace zgseg::cli
