// SIGTERM and SIGINT as a request to stop cleanly (README "Batches on a
// cluster"). Schedulers stop work with SIGTERM and send SIGKILL a little later
// (Slurm: KillWait, 30 s by default; Kubernetes: the grace period), which is
// shorter than one image on a CPU; so a stop does not wait for the image in
// flight. While a StopSignals object is alive:
//   first signal   `on_stop(signo)` runs on a thread of its own; it must end
//                  the process (it writes the summary, then std::_Exit)
//   second signal  the process exits at once with 128 + signo (outputs stay
//                  whole: every file is renamed into place when complete)
#pragma once

#include <functional>
#include <thread>

namespace zgseg::cli {

class StopSignals {
public:
    explicit StopSignals(std::function<void(int signo)> on_stop);
    ~StopSignals();  // restores the previous handlers
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

private:
    std::function<void(int)> on_stop_;
    std::thread watcher_;
    int pipe_[2] = {-1, -1};
};

// "SIGTERM", "SIGINT", or "signal N".
const char* signal_name(int signo);

}  // namespace zgseg::cli
