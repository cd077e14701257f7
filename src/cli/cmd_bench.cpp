// `zgseg bench`: time every stage at real model sizes (random weights unless
// --models names real ones); print a table and write bench.json.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "bench/bench.hpp"
#include "cli/commands.hpp"
#include "io/atomic_file.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::cli {

namespace {

struct BenchCliOptions {
    CommonOptions common;
    bench::BenchOptions bench;
    std::string model_size = "full";
    std::string out = "bench.json";
    bool overwrite = false;
    bool quick = false;
    bool list_stages = false;
};

int run_bench_command(BenchCliOptions& o) {
    apply_common_options(o.common);
    if (o.list_stages) {
        for (const auto& s : bench::stage_list())
            std::cout << s.name << "\t" << s.title << (s.default_on ? "" : " [not in the default set]") << "\n";
        return 0;
    }
    // Refuse before spending half an hour: the report must have somewhere to go.
    if (!o.overwrite && fs::exists(o.out))
        throw Error("output '" + o.out + "' already exists; pass --overwrite to replace it, or give -o another file");
    o.bench.models = o.common.models;
    o.bench.device = o.common.device;
    o.bench.model_size = o.model_size == "tiny" ? bench::ModelSize::Tiny : bench::ModelSize::Full;
    if (o.quick) o.bench.repeat = 1;
    o.bench.quick = o.quick;
    const auto report = bench::run_bench(o.bench);
    write_file_atomic(o.out, report.dump(2) + "\n", o.overwrite);
    std::cout << bench::format_report(report) << std::flush;
    spdlog::info("wrote {}", o.out);
    return 0;
}

}  // namespace

Action add_bench_command(CLI::App& app) {
    auto o = std::make_shared<BenchCliOptions>();
    auto* cmd = app.add_subcommand(
        "bench",
        "Time every stage on a real photo with full-size networks (random weights, made once in a cache folder, "
        "unless --models names real ones); print a table and write bench.json");
    auto& b = o->bench;
    cmd->add_option("-o,--out", o->out, "Where the report goes (JSON)");
    cmd->add_flag("--overwrite", o->overwrite, "Replace an existing report");
    cmd->add_option("--stages", b.stages, "Comma-separated stages to time (default: the default set; see --list-stages)")
        ->delimiter(',');
    cmd->add_flag("--list-stages", o->list_stages, "Print the stages and exit");
    cmd->add_option("--repeat", b.repeat, "Timed repetitions per stage (min and median are reported)")
        ->check(CLI::Range(1, 1000));
    cmd->add_option("--max-stage-seconds", b.max_stage_seconds,
                    "Start no further repetition of a stage once it has used this many seconds")
        ->check(CLI::Range(0.0, 1e6));
    cmd->add_flag("--quick", o->quick, "One repetition per stage; zerocap_steps_reference times one shift iteration per step");
    cmd->add_option("--nodes", b.nodes, "Segments through stages 2 and 3 (fixed: random weights make the real count "
                                        "meaningless)")
        ->check(CLI::Range(1, 1000));
    cmd->add_option("--vocab-entries", b.vocab_entries,
                    "Vocabulary entries whose cache build is timed (the full build is extrapolated)")
        ->check(CLI::Range(1, 10000000));
    cmd->add_option("--clip-texts", b.clip_texts,
                    "Strings through the CLIP text tower (ZeroCap: 5 beams × 512 candidates = 2560)")
        ->check(CLI::Range(1, 1000000));
    cmd->add_option("--caption-tokens", b.caption_tokens, "ZeroCap caption length for the extrapolation")
        ->check(CLI::Range(1, 200));
    cmd->add_option("--dino-stride", b.dino_stride, "DINO patch stride (the paper's: 2)")->check(CLI::Range(1, 8));
    cmd->add_option("--embed-batch", b.embed_batch, "Stage 2's nodes a batch (0: the default, 1 on CPU, 16 on CUDA)")
        ->check(CLI::Range(0, 256));
    cmd->add_option("--image", b.image, "Photo to time (default: the VOC sample of the source tree)");
    cmd->add_option("--cache-dir", b.cache_dir, "Where the random models are made once (default "
                                                "~/.cache/zgseg/bench-models; the full set takes 3.6 GB)");
    cmd->add_option("--model-size", o->model_size,
                    "full: the real shapes; tiny: small random models, to check the bench itself quickly")
        ->check(CLI::IsMember({"full", "tiny"}));
    // The common options, but --models means something else here: no default, random models when absent.
    cmd->add_option("--models", o->common.models,
                    "Time the model folders in DIR (Hugging Face layout, as for segment) instead of random ones");
    cmd->add_option("--device", o->common.device, "Where the networks run")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    cmd->add_option("--threads", o->common.threads, "CPU threads for LibTorch (0: all cores)")->check(CLI::Range(0, 1024));
    add_logging_options(cmd, o->common);
    return [o] { return run_bench_command(*o); };
}

}  // namespace zgseg::cli
