// `zgseg status SOURCE -o OUT`: one look at a (sharded) batch — over the whole
// source list and every shard's summary: done, made with other settings,
// failed (with the reason), stopped by a signal, not started.
//
// Cheap on 10^5 images: one stat per image, and of NAME.json only its head
// ("input", "models", "parameters"); `--check` runs the full --resume check.
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/batch_inputs.hpp"
#include "cli/commands.hpp"
#include "core/json_bounded.hpp"
#include "io/output_check.hpp"
#include "io/outputs.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::cli {

namespace {

struct StatusOptions {
    std::string source, out_dir;
    bool json = false, check = false;
    CommonOptions common;
};

// What the summaries in OUT say about the images that are not done.
struct SummaryFacts {
    nlohmann::json files = nlohmann::json::array();   // {"file", "shard", "interrupted", "signal", "seconds"}
    std::map<std::string, std::string> failed;        // input → error
    std::map<std::string, std::string> interrupted;   // input → "SIGTERM (summary-shard-2.json)"
    nlohmann::json parameters, models;                // the newest summary's settings ("current")
};

SummaryFacts read_summaries(const fs::path& out) {
    SummaryFacts facts;
    std::vector<std::pair<fs::file_time_type, fs::path>> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(out, ec)) {
        const std::string name = entry.path().filename().string();
        if (name == "summary.json" || (name.rfind("summary-shard-", 0) == 0 && entry.path().extension() == ".json"))
            found.emplace_back(entry.last_write_time(ec), entry.path());
    }
    std::sort(found.begin(), found.end());  // oldest first: a newer summary's word wins
    for (const auto& [time, path] : found) {
        nlohmann::json s;
        try {
            std::ifstream in(path);
            s = parse_bounded_json(in);
            if (!s.is_object()) throw Error("not an object");
        } catch (const std::exception&) {
            spdlog::warn("status: '{}' is not a readable summary; ignoring it", path.string());
            continue;
        }
        const std::string file = path.filename().string();
        const bool interrupted = s.value("interrupted", false);
        const std::string signal = s.contains("signal") && s.at("signal").is_string() ? s.at("signal").get<std::string>() : "";
        facts.files.push_back({{"file", file}, {"shard", s.value("shard", "")}, {"interrupted", interrupted},
                               {"signal", signal}, {"seconds", s.value("seconds", 0.0)}});
        if (s.contains("failures") && s.at("failures").is_array())
            for (const auto& f : s.at("failures"))
                if (f.is_object() && f.contains("input") && f.at("input").is_string())
                    facts.failed[f.at("input").get<std::string>()] = f.value("error", "");
        if (interrupted && s.contains("not_done") && s.at("not_done").is_array())
            for (const auto& input : s.at("not_done"))
                if (input.is_string()) facts.interrupted[input.get<std::string>()] = signal + " (" + file + ")";
        if (s.contains("parameters") && s.contains("models")) {
            facts.parameters = s.at("parameters");
            facts.models = s.at("models");
        }
    }
    return facts;
}

bool same_models(const nlohmann::json& recorded, const nlohmann::json& current) {
    if (!current.is_object()) return true;
    for (const auto& [net, value] : current.items())
        if (net != "folder" && (!recorded.is_object() || !recorded.contains(net) || recorded.at(net) != value)) return false;
    return true;
}

int run_status(const StatusOptions& o) {
    apply_common_options(o.common);
    const fs::path out(o.out_dir);
    std::error_code ec;
    if (!fs::is_directory(out, ec))
        throw Error("output folder '" + o.out_dir + "' does not exist; give the -o folder of zgseg batch");
    const auto items = collect_batch_inputs(o.source);
    const SummaryFacts facts = read_summaries(out);
    const bool know_settings = !facts.parameters.is_null();
    if (o.check && !know_settings)
        throw Error("status --check: no summary in '" + o.out_dir +
                    "' records the run's settings (made by an older zgseg?); rerun zgseg batch --resume instead");

    nlohmann::json done = nlohmann::json::array(), other = nlohmann::json::array(),
                   damaged = nlohmann::json::array(), failed = nlohmann::json::array(),
                   interrupted = nlohmann::json::array(), incomplete = nlohmann::json::array(),
                   not_started = nlohmann::json::array();
    for (const auto& item : items) {
        const std::string input = item.input.string();
        const fs::path base = out / item.name;
        const auto paths = output_paths(base);
        if (fs::is_regular_file(paths.json, ec)) {
            if (o.check) {
                const OutputCheck c = check_outputs(base, item.input, {facts.parameters, facts.models});
                if (c.complete()) done.push_back(input);
                else if (c.verdict == OutputCheck::Verdict::OtherSettings) other.push_back(input);
                else damaged.push_back({{"input", input}, {"file", c.file.string()}, {"problem", c.problem}});
                continue;
            }
            try {
                const auto head = read_output_head(paths.json);
                const bool same = !know_settings || (head.value("parameters", nlohmann::json()) == facts.parameters &&
                                                     same_models(head.value("models", nlohmann::json()), facts.models));
                (same ? done : other).push_back(input);
            } catch (const Error& e) {
                damaged.push_back({{"input", input}, {"file", paths.json.string()}, {"problem", e.what()}});
            }
            continue;
        }
        if (auto f = facts.failed.find(input); f != facts.failed.end())
            failed.push_back({{"input", input}, {"error", f->second}});
        else if (auto i = facts.interrupted.find(input); i != facts.interrupted.end())
            interrupted.push_back({{"input", input}, {"stopped_by", i->second}});
        else if (fs::exists(paths.png, ec) || fs::exists(paths.embeddings, ec) || fs::exists(paths.overlay, ec))
            incomplete.push_back(input);  // files without NAME.json: a run killed mid-write (SIGKILL)
        else
            not_started.push_back(input);
    }

    const nlohmann::json report = {{"source", o.source},         {"out", o.out_dir},
                                   {"inputs", items.size()},     {"done", done.size()},
                                   {"other_settings", other},    {"damaged", damaged},
                                   {"failed", failed},           {"interrupted", interrupted},
                                   {"incomplete", incomplete},   {"not_started", not_started},
                                   {"summaries", facts.files},   {"checked", o.check}};
    if (o.json) {
        std::cout << report.dump(1) << "\n";
        return 0;
    }
    auto line = [](const char* what, size_t n, const std::string& note = "") {
        std::cout << "  " << what << std::string(16 - std::string(what).size(), ' ') << n << note << "\n";
    };
    std::cout << o.source << " → " << o.out_dir << ": " << items.size() << " images, " << facts.files.size()
              << " summaries" << (o.check ? " (outputs checked as --resume does)" : "") << "\n";
    line("done", done.size());
    line("other settings", other.size(), know_settings ? " (made with settings other than the newest summary's)" : "");
    if (!damaged.empty()) line("damaged", damaged.size(), " (NAME.json unreadable or a file failed a check)");
    line("failed", failed.size());
    for (const auto& f : failed) std::cout << "    " << f["input"].get<std::string>() << ": " << f["error"].get<std::string>() << "\n";
    line("interrupted", interrupted.size(), interrupted.empty() ? "" : " (stopped by a signal before they were done)");
    if (!incomplete.empty()) line("incomplete", incomplete.size(), " (files without NAME.json)");
    line("not started", not_started.size());
    const size_t left = items.size() - done.size();
    if (left > 0)
        std::cout << left << " not done; `zgseg batch " << o.source << " -o " << o.out_dir
                  << " --resume` (with each shard's --shard) finishes them\n";
    return 0;
}

}  // namespace

Action add_status_command(CLI::App& app) {
    auto o = std::make_shared<StatusOptions>();
    auto* cmd = app.add_subcommand("status", "One look at a (sharded) batch: done, failed, interrupted, left");
    cmd->add_option("source", o->source, "The batch's source: DIR, LIST.txt or - (as given to zgseg batch)")
        ->required();
    cmd->add_option("-o,--out", o->out_dir, "The batch's output folder")->required();
    cmd->add_flag("--json", o->json, "Print the status as JSON (lists of inputs per state)");
    cmd->add_flag("--check", o->check,
                  "Check every output as batch --resume does (slower: reads each file) instead of NAME.json's head");
    add_logging_options(cmd, o->common);
    return [o] { return run_status(*o); };
}

}  // namespace zgseg::cli
