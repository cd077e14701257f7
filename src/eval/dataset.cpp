#include "eval/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>

#include "core/model_dir.hpp"
#include "io/label_png.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::eval {

namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Names the paper's evaluation never scores: PC's "unknown" and the VOC
// pseudo-classes for background and the ambiguous boundary.
bool never_counts(const std::string& name) { return name == "unknown" || name == "bg" || name == "amb"; }

}  // namespace

std::vector<DatasetClass> read_class_file(const fs::path& path) {
    std::ifstream in(path);
    if (!in) throw Error("cannot read class list '" + path.string() + "' (give a file of 'ID: NAME' lines with --classes)");
    std::vector<DatasetClass> classes;
    std::set<int> ids;
    std::set<std::string> names;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        line = trim(line);
        if (line.empty()) continue;
        const std::string where = "class list '" + path.string() + "' line " + std::to_string(number);
        const auto colon = line.find(':');
        const std::string id_text = colon == std::string::npos ? "" : trim(line.substr(0, colon));
        const std::string name = colon == std::string::npos ? "" : trim(line.substr(colon + 1));
        const bool digits = !id_text.empty() && id_text.size() <= 5 &&
                            std::all_of(id_text.begin(), id_text.end(), [](unsigned char c) { return std::isdigit(c); });
        if (!digits || name.empty())
            throw Error(where + ": expected 'ID: NAME' (e.g. '8: cat'), got '" + line + "'");
        const int id = std::stoi(id_text);
        if (id > 65535) throw Error(where + ": id " + id_text + " is beyond 65535");
        if (!ids.insert(id).second) throw Error(where + ": id " + id_text + " is listed twice");
        if (!names.insert(name).second) throw Error(where + ": name '" + name + "' is listed twice");
        classes.push_back({id, name});
    }
    if (classes.empty()) throw Error("class list '" + path.string() + "' has no 'ID: NAME' lines");
    return classes;
}

int Dataset::class_index(int value) const {
    if (value < 0 || value >= static_cast<int>(index_of_value_.size())) return -1;
    return index_of_value_[static_cast<size_t>(value)];
}

fs::path bundled_class_file(const std::string& key) { return bundled_models_dir() / "classes" / (key + ".txt"); }

Dataset make_dataset(const std::string& key, const fs::path& classes_file) {
    Dataset d;
    d.key = key;
    if (key == "voc20") {
        d.title = "PAS-20";
        d.ignore_value = 255;
        d.background_value = 0;
        d.max_class_id = 20;
    } else if (key == "pc59" || key == "pc459") {
        // PASCAL-Context labels every pixel with one of the 459 ids (0 is
        // accepted too, as "no class"); nothing is ignored.
        d.title = key == "pc59" ? "PC-59" : "PC-459";
        d.max_class_id = 459;
    } else {
        throw UsageError("--dataset " + key + ": expected voc20, pc59 or pc459");
    }
    const fs::path file = classes_file.empty() ? bundled_class_file(key) : classes_file;
    for (auto& c : read_class_file(file)) {
        if (c.id < 1 || c.id > d.max_class_id)
            throw Error("class list '" + file.string() + "': id " + std::to_string(c.id) + " ('" + c.name +
                        "') is not a class id of " + d.title + " (1.." + std::to_string(d.max_class_id) + ")");
        if (!never_counts(c.name)) d.classes.push_back(std::move(c));
    }
    std::sort(d.classes.begin(), d.classes.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    d.index_of_value_.assign(static_cast<size_t>(d.max_class_id) + 1, -1);
    for (size_t i = 0; i < d.classes.size(); ++i) d.index_of_value_[static_cast<size_t>(d.classes[i].id)] = static_cast<int>(i);
    return d;
}

std::vector<GroundTruthSegment> ground_truth_segments(const cv::Mat& gt, const Dataset& dataset) {
    std::vector<cv::Mat> masks(dataset.classes.size());
    for (int y = 0; y < gt.rows; ++y) {
        const int32_t* row = gt.ptr<int32_t>(y);
        for (int x = 0; x < gt.cols; ++x) {
            const int c = dataset.class_index(row[x]);
            if (c < 0) continue;
            auto& mask = masks[static_cast<size_t>(c)];
            if (mask.empty()) mask = cv::Mat::zeros(gt.size(), CV_8U);
            mask.at<uint8_t>(y, x) = 1;
        }
    }
    std::vector<GroundTruthSegment> segments;  // classes are in id order
    for (size_t c = 0; c < masks.size(); ++c)
        if (!masks[c].empty()) segments.push_back({static_cast<int>(c), masks[c]});
    return segments;
}

cv::Mat read_ground_truth(const fs::path& png, const Dataset& dataset) {
    cv::Mat labels = read_label_png(png);  // CV_32S
    for (int y = 0; y < labels.rows; ++y) {
        const int32_t* row = labels.ptr<int32_t>(y);
        for (int x = 0; x < labels.cols; ++x) {
            const int v = row[x];
            const bool ok = (v >= 0 && v <= dataset.max_class_id) || (dataset.ignore_value && v == *dataset.ignore_value);
            if (!ok)
                throw Error("ground truth '" + png.string() + "': label " + std::to_string(v) + " at pixel (" +
                            std::to_string(x) + ", " + std::to_string(y) + ") is not a " + dataset.title +
                            " label (" + (dataset.ignore_value ? "0.." + std::to_string(dataset.max_class_id) + " or " + std::to_string(*dataset.ignore_value)
                                                          : "0.." + std::to_string(dataset.max_class_id)) +
                            "); is this the right --dataset, and was the file made by scripts/prepare_eval_data.py?");
        }
    }
    return labels;
}

bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        const bool da = std::isdigit(static_cast<unsigned char>(a[i])), db = std::isdigit(static_cast<unsigned char>(b[j]));
        if (da && db) {
            size_t ie = i, je = j;
            while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
            while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
            // Compare the numbers without converting (runs may be long): strip
            // leading zeros, then shorter is smaller, then digit by digit.
            size_t is = i, js = j;
            while (is + 1 < ie && a[is] == '0') ++is;
            while (js + 1 < je && b[js] == '0') ++js;
            if (ie - is != je - js) return ie - is < je - js;
            const int c = a.compare(is, ie - is, b, js, je - js);
            if (c != 0) return c < 0;
            if (ie - i != je - j) return ie - i < je - j;  // "01" after "1"
            i = ie;
            j = je;
        } else {
            if (a[i] != b[j]) return a[i] < b[j];
            ++i;
            ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

std::vector<std::string> list_images(const fs::path& data_dir, int limit) {
    const fs::path labels = data_dir / "SegmentationClass";
    std::error_code ec;
    if (!fs::is_directory(labels, ec))
        throw Error("no folder '" + labels.string() +
                    "' (give --data the folder that holds JPEGImages/ and SegmentationClass/; "
                    "scripts/prepare_eval_data.py makes it)");
    std::vector<std::string> names;
    const fs::path list = data_dir / "val.txt";
    if (fs::exists(list, ec)) {
        std::ifstream in(list);
        std::set<std::string> seen;
        for (std::string line; std::getline(in, line);) {
            line = trim(line);
            if (!line.empty() && seen.insert(line).second) names.push_back(line);
        }
    } else {
        for (const auto& entry : fs::directory_iterator(labels, ec))
            if (entry.path().extension() == ".png") names.push_back(entry.path().stem().string());
    }
    if (names.empty()) throw Error("no images to score in '" + data_dir.string() + "' (val.txt empty or no PNG in SegmentationClass/)");
    std::sort(names.begin(), names.end(), natural_less);
    if (limit > 0 && static_cast<size_t>(limit) < names.size()) names.resize(static_cast<size_t>(limit));
    return names;
}

}  // namespace zgseg::eval
