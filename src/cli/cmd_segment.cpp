// `zgseg segment IMAGE... -o OUT` and `zgseg batch (DIR | LIST.txt | -) -o OUT`.
#include <spdlog/spdlog.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/pipeline_options.hpp"
#include "core/model_dir.hpp"
#include "zgseg/error.hpp"

namespace zgseg::cli {

namespace {

struct SegmentOptions {
    CommonOptions common;
    PipelineParams params;
    std::string preset = "paper";
    std::vector<std::string> inputs;
    std::string out_dir;
    bool overwrite = false;
    bool resume = false;
    bool save_tree = false;
    std::string shard;
};

// Networks the run needs, for the missing-model check.
std::vector<std::string> needed_networks(const PipelineParams& params) {
    std::vector<std::string> nets = {"dino-vits8", "clip-vit-large-patch14-336"};
    if (params.captioner != "vocab") nets.push_back("gpt2-medium");
    return nets;
}

int run_segment(CLI::App* cmd, SegmentOptions& o) {
    apply_common_options(o.common);
    apply_preset(cmd, o.params, o.preset);
    const auto models = ModelDirectory::resolve(o.common.models);
    models.require(needed_networks(o.params));
    throw Error("segmentation is not implemented in this version of zgseg yet (the pipeline stages are being built; "
                "see the README's status section)");
}

void add_output_options(CLI::App* cmd, SegmentOptions& o) {
    cmd->add_option("-o,--out", o.out_dir, "Output folder (created if missing)")->required();
    cmd->add_flag("--overwrite", o.overwrite, "Replace existing outputs");
    cmd->add_flag("--save-tree", o.save_tree, "Write every node of the merge tree, not only the final segments");
}

}  // namespace

Action add_segment_command(CLI::App& app) {
    auto o = std::make_shared<SegmentOptions>();
    auto* cmd = app.add_subcommand("segment", "Segment images and caption every segment (the default subcommand)");
    cmd->add_option("images", o->inputs, "Image files (JPEG, PNG, WebP, BMP, TIFF)")->required();
    add_output_options(cmd, *o);
    add_pipeline_options(cmd, o->params, o->preset);
    add_common_options(cmd, o->common);
    return [cmd, o] { return run_segment(cmd, *o); };
}

Action add_batch_command(CLI::App& app) {
    auto o = std::make_shared<SegmentOptions>();
    auto* cmd = app.add_subcommand("batch", "Segment a folder (recursive), a list file, or paths on stdin (-)");
    cmd->add_option("source", o->inputs, "DIR, LIST.txt (one path a line) or - for stdin")->required()->expected(1);
    add_output_options(cmd, *o);
    cmd->add_flag("--resume", o->resume, "Skip images whose outputs are complete and valid; redo incomplete ones");
    cmd->add_option("--shard", o->shard, "I/N: process the I-th of N deterministic shards (0-based I)");
    add_pipeline_options(cmd, o->params, o->preset);
    add_common_options(cmd, o->common);
    return [cmd, o] { return run_segment(cmd, *o); };
}

}  // namespace zgseg::cli
