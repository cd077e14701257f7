#include "cli/batch_inputs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>

#include "io/input_guard.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::cli {

namespace {

bool is_image_name(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    static const std::set<std::string> kExt = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"};
    return kExt.count(ext) > 0;
}

std::string strip_extension(const fs::path& p) { return (p.parent_path() / p.stem()).string(); }

// A label map NAME.png or overlay NAME.overlay.jpg that zgseg wrote: NAME.json
// and NAME.embeddings.safetensors lie beside it. A batch over a folder that
// also holds its outputs (-o inside the source) must not take them for photos.
bool is_zgseg_output(const fs::path& p) {
    const std::string file = p.filename().string();
    std::string base;
    const std::string overlay = ".overlay.jpg";
    if (file.size() > overlay.size() && file.compare(file.size() - overlay.size(), overlay.size(), overlay) == 0)
        base = file.substr(0, file.size() - overlay.size());
    else if (p.extension() == ".png")
        base = p.stem().string();
    else
        return false;
    std::error_code ec;
    const fs::path folder = p.parent_path();
    return fs::is_regular_file(folder / (base + ".json"), ec) &&
           fs::is_regular_file(folder / (base + ".embeddings.safetensors"), ec);
}

}  // namespace

std::vector<WorkItem> collect_batch_inputs(const std::string& source) {
    std::vector<WorkItem> items;
    auto from_lines = [&](std::istream& in, const fs::path& base) {
        std::string line;
        while (std::getline(in, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty() || line[0] == '#') continue;
            fs::path p(line);
            if (p.is_relative() && !base.empty()) p = base / p;
            items.push_back({p, p.stem().string()});
        }
    };
    std::error_code ec;
    size_t outputs_skipped = 0;
    if (source == "-") {
        from_lines(std::cin, {});
    } else if (fs::is_directory(source, ec)) {
        for (auto it = fs::recursive_directory_iterator(source, fs::directory_options::skip_permission_denied, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (ec) break;
            if (!it->is_regular_file(ec) || !is_image_name(it->path())) continue;
            if (is_zgseg_output(it->path())) {
                ++outputs_skipped;
                continue;
            }
            items.push_back({it->path(), strip_extension(fs::relative(it->path(), source))});
        }
        if (outputs_skipped > 0)
            spdlog::info("batch: skipped {} files in '{}' that are zgseg outputs (label maps, overlays)",
                         outputs_skipped, source);
    } else if (fs::is_regular_file(source, ec)) {
        std::ifstream in(source);
        if (!in) throw Error("cannot read the list file '" + source + "'");
        protect_input(source);
        from_lines(in, fs::path(source).parent_path());
    } else {
        throw Error("batch source '" + source + "' is neither a folder, a list file nor '-'");
    }
    // Deterministic order without duplicates: every shard sees the same list.
    std::sort(items.begin(), items.end(), [](const WorkItem& a, const WorkItem& b) { return a.input < b.input; });
    items.erase(std::unique(items.begin(), items.end(), [](const WorkItem& a, const WorkItem& b) { return a.input == b.input; }),
                items.end());
    return items;
}

}  // namespace zgseg::cli
