#include "eval/report.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "io/atomic_file.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::eval {

namespace {

std::string percent(double v) {
    if (std::isnan(v)) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", 100.0 * v);
    return buf;
}

std::string fixed(double v, int digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

nlohmann::json number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

nlohmann::json numbers(const std::vector<double>& values) {
    auto a = nlohmann::json::array();
    for (double v : values) a.push_back(number(v));
    return a;
}

std::string reassign_title(const std::string& r) { return r == "tt" ? "Text-text reassign." : "Segment-text reassign."; }
std::string threshold_name(const std::string& r) { return r == "tt" ? "tau_SBERT" : "tau_CLIP"; }

// Left column of 30 characters, then columns of 24.
std::string row(const std::string& head, const std::vector<std::string>& cells, size_t width = 24) {
    std::string line = head;
    line.resize(std::max<size_t>(30, head.size() + 1), ' ');
    for (const auto& c : cells) {
        std::string cell = c;
        if (cell.size() < width) cell.resize(width, ' ');
        line += cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
}

// CSV field: quoted when it holds a comma, quote or newline.
std::string field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string csv_number(double v) {
    if (std::isnan(v)) return "";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

}  // namespace

std::vector<double> sweep_thresholds(const std::string& reassign) {
    std::vector<double> t;
    if (reassign == "tt")
        for (int i = 0; i <= 10; ++i) t.push_back(i * 0.1);
    else
        for (int i = 0; i <= 7; ++i) t.push_back(i * 0.05);
    return t;
}

std::string format_tables(const EvalReport& r) {
    std::ostringstream out;
    const int scored = r.main.empty() ? 0 : r.main.front().summary().images;
    if (!r.main.empty() || !r.tgq)
        out << "zgseg eval: " << r.dataset->title << ", " << scored << " of " << r.images_listed << " images scored ("
            << r.missing.size() << " missing prediction" << (r.missing.size() == 1 ? "" : "s") << ", " << r.empty.size()
            << " with no segment)\n\n";
    else  // --oracle alone
        out << "zgseg eval: " << r.dataset->title << ", ground-truth segments of " << r.tgq->scored_images << " of "
            << r.images_listed << " images captioned\n";
    if (!r.main.empty()) {
        std::vector<Summary> s;
        for (const auto& a : r.main) s.push_back(a.summary());
        std::vector<std::string> titles, thresholds;
        for (const auto& x : s) {
            titles.push_back(reassign_title(x.setting.reassign));
            thresholds.push_back(threshold_name(x.setting.reassign) + " = " + fixed(x.setting.threshold, 2));
        }
        auto line = [&](const std::string& head, auto value) {
            std::vector<std::string> cells;
            for (const auto& x : s) cells.push_back(value(x));
            out << row(head, cells);
        };
        out << row("", titles) << row("Threshold", thresholds);
        if (r.show_image_iou) line("IoU (per image)", [](const Summary& x) { return percent(x.iou); });
        if (r.show_dataset_iou) line("IoU (dataset)", [](const Summary& x) { return percent(x.dataset_iou); });
        line("Recall (tau_IoU = 0.50)", [](const Summary& x) { return percent(x.recall_at(0.5)); });
        line("Recall, best segment", [](const Summary& x) {
            const int i = 50;
            return percent(x.recall_best_segment_curve[static_cast<size_t>(i)]);
        });
        line("Recall, GT classes only", [](const Summary& x) { return percent(x.recall_ground_truth_curve[50]); });
        line("Recall, mean over tau_IoU", [](const Summary& x) { return percent(x.recall_mean()); });
    }
    if (r.tgq) out << "\n" << row("Text Generation Quality", {percent(r.tgq->score) + "  (" + threshold_name("tt") + " = " + fixed(r.tgq->threshold, 2) + ")"}, 0);
    for (const std::string reassign : {"tt", "st"}) {
        std::vector<const Summary*> sweep;
        for (const auto& x : r.sweep)
            if (x.setting.reassign == reassign) sweep.push_back(&x);
        if (sweep.empty()) continue;
        out << "\n" << (reassign == "tt" ? "Text-to-text IoU with several SBERT thresholds (Table 6)"
                                         : "Segment-to-text IoU with several CLIP thresholds (Table 7)")
            << "\n";
        std::vector<std::string> taus, ious;
        for (const auto* x : sweep) {
            taus.push_back(fixed(x->setting.threshold, reassign == "tt" ? 1 : 2));
            ious.push_back(percent(r.show_image_iou ? x->iou : x->dataset_iou));
        }
        out << row(threshold_name(reassign), taus, 6) << row(reassign == "tt" ? "IoU_tt" : "IoU_st", ious, 6);
    }
    if (!r.missing.empty()) {
        out << "\nmissing predictions (" << r.missing.size() << "):";
        for (size_t i = 0; i < r.missing.size() && i < 10; ++i) out << " " << r.missing[i];
        if (r.missing.size() > 10) out << " ... (all in eval.json)";
        out << "\n";
    }
    return out.str();
}

nlohmann::json report_json(const EvalReport& r) {
    const auto& classes = r.dataset->classes;
    nlohmann::json j;
    j["dataset"] = {{"key", r.dataset->key}, {"title", r.dataset->title}, {"classes", classes.size()}};
    j["parameters"] = r.parameters;
    j["images"] = {{"listed", r.images_listed},
                   {"scored", r.main.empty() ? 0 : r.main.front().summary().images},
                   {"missing", r.missing},
                   {"empty", r.empty}};
    j["seconds"] = r.seconds;
    auto summary_json = [&](const Summary& s) {
        nlohmann::json x;
        x["reassign"] = s.setting.reassign;
        x["threshold"] = s.setting.threshold;
        x["images"] = s.images;
        x["iou"] = number(s.iou);
        x["dataset_iou"] = number(s.dataset_iou);
        x["recall_at_0.50"] = number(s.recall_at(0.5));
        x["recall_best_segment_at_0.50"] = number(s.recall_best_segment_curve[50]);
        x["recall_ground_truth_at_0.50"] = number(s.recall_ground_truth_curve[50]);
        x["recall_mean_over_tau"] = number(s.recall_mean());
        x["recall_area"] = number(s.recall_area());
        return x;
    };
    j["results"] = nlohmann::json::array();
    for (const auto& a : r.main) {
        const Summary s = a.summary();
        nlohmann::json x = summary_json(s);
        std::vector<double> taus;
        for (int i = 0; i < kRecallSteps; ++i) taus.push_back(recall_threshold(i));
        x["recall_curve"] = {{"tau_iou", taus},
                             {"recall", numbers(s.recall_curve)},
                             {"recall_best_segment", numbers(s.recall_best_segment_curve)},
                             {"recall_ground_truth", numbers(s.recall_ground_truth_curve)}};
        auto per_class = nlohmann::json::array();
        for (size_t c = 0; c < classes.size(); ++c)
            per_class.push_back({{"id", classes[c].id},
                                 {"name", classes[c].name},
                                 {"iou", number(s.class_iou[c])},
                                 {"images", s.class_images[c]},
                                 {"dataset_iou", number(s.class_dataset_iou[c])}});
        x["per_class"] = per_class;
        auto per_image = nlohmann::json::array();
        for (const auto& im : a.images())
            per_image.push_back({{"name", im.name},
                                 {"segments", im.segments},
                                 {"assigned_segments", im.assigned_segments},
                                 {"ground_truth_classes", im.ground_truth_classes},
                                 {"predicted_classes", im.predicted_classes},
                                 {"iou", number(im.iou)},
                                 {"recall_at_0.50", number(im.recall)},
                                 {"recall_best_segment_at_0.50", number(im.recall_best_segment)},
                                 {"recall_ground_truth_at_0.50", number(im.recall_ground_truth)}});
        x["per_image"] = per_image;
        j["results"].push_back(x);
    }
    j["sweep"] = nlohmann::json::array();
    for (const auto& s : r.sweep) j["sweep"].push_back(summary_json(s));
    if (r.tgq) {
        nlohmann::json t;
        t["threshold"] = r.tgq->threshold;
        t["score"] = number(r.tgq->score);
        t["images"] = r.tgq->scored_images;
        t["per_image"] = nlohmann::json::array();
        for (const auto& im : r.tgq->images)
            t["per_image"].push_back({{"name", im.name},
                                      {"score", number(im.score)},
                                      {"classes", im.classes},
                                      {"captions", im.captions},
                                      {"similarities", numbers(im.similarities)}});
        j["text_generation_quality"] = t;
    }
    return j;
}

std::string report_csv(const EvalReport& r) {
    std::ostringstream out;
    out << "section,reassign,threshold,image,class,metric,value\n";
    auto put = [&](const std::string& section, const std::string& reassign, const std::string& threshold,
                   const std::string& image, const std::string& cls, const std::string& metric, const std::string& value) {
        out << field(section) << ',' << field(reassign) << ',' << field(threshold) << ',' << field(image) << ','
            << field(cls) << ',' << field(metric) << ',' << field(value) << '\n';
    };
    for (const auto& [key, value] : r.parameters.items())
        put("parameter", "", "", "", "", key, value.is_string() ? value.get<std::string>() : value.dump());
    put("images", "", "", "", "", "listed", std::to_string(r.images_listed));
    for (const auto& name : r.missing) put("images", "", "", name, "", "missing", "1");
    for (const auto& name : r.empty) put("images", "", "", name, "", "empty", "1");
    auto summary_rows = [&](const std::string& section, const Summary& s) {
        const std::string t = csv_number(s.setting.threshold);
        put(section, s.setting.reassign, t, "", "", "images", std::to_string(s.images));
        put(section, s.setting.reassign, t, "", "", "iou", csv_number(s.iou));
        put(section, s.setting.reassign, t, "", "", "dataset_iou", csv_number(s.dataset_iou));
        put(section, s.setting.reassign, t, "", "", "recall_at_0.50", csv_number(s.recall_at(0.5)));
        put(section, s.setting.reassign, t, "", "", "recall_best_segment_at_0.50", csv_number(s.recall_best_segment_curve[50]));
        put(section, s.setting.reassign, t, "", "", "recall_ground_truth_at_0.50", csv_number(s.recall_ground_truth_curve[50]));
        put(section, s.setting.reassign, t, "", "", "recall_mean_over_tau", csv_number(s.recall_mean()));
        put(section, s.setting.reassign, t, "", "", "recall_area", csv_number(s.recall_area()));
    };
    for (const auto& a : r.main) {
        const Summary s = a.summary();
        const std::string re = s.setting.reassign, t = csv_number(s.setting.threshold);
        summary_rows("summary", s);
        for (int i = 0; i < kRecallSteps; ++i) {
            const std::string tau = fixed(recall_threshold(i), 2);
            put("recall_curve", re, t, "", "", "recall_at_" + tau, csv_number(s.recall_curve[static_cast<size_t>(i)]));
            put("recall_curve", re, t, "", "", "recall_best_segment_at_" + tau, csv_number(s.recall_best_segment_curve[static_cast<size_t>(i)]));
            put("recall_curve", re, t, "", "", "recall_ground_truth_at_" + tau, csv_number(s.recall_ground_truth_curve[static_cast<size_t>(i)]));
        }
        for (size_t c = 0; c < r.dataset->classes.size(); ++c) {
            const auto& name = r.dataset->classes[c].name;
            put("class", re, t, "", name, "iou", csv_number(s.class_iou[c]));
            put("class", re, t, "", name, "images", std::to_string(s.class_images[c]));
            put("class", re, t, "", name, "dataset_iou", csv_number(s.class_dataset_iou[c]));
        }
        for (const auto& im : a.images()) {
            put("image", re, t, im.name, "", "segments", std::to_string(im.segments));
            put("image", re, t, im.name, "", "assigned_segments", std::to_string(im.assigned_segments));
            put("image", re, t, im.name, "", "ground_truth_classes", std::to_string(im.ground_truth_classes));
            put("image", re, t, im.name, "", "predicted_classes", std::to_string(im.predicted_classes));
            put("image", re, t, im.name, "", "iou", csv_number(im.iou));
            put("image", re, t, im.name, "", "recall_at_0.50", csv_number(im.recall));
            put("image", re, t, im.name, "", "recall_best_segment_at_0.50", csv_number(im.recall_best_segment));
            put("image", re, t, im.name, "", "recall_ground_truth_at_0.50", csv_number(im.recall_ground_truth));
        }
    }
    for (const auto& s : r.sweep) summary_rows("sweep", s);
    if (r.tgq) {
        const std::string t = csv_number(r.tgq->threshold);
        put("tgq", "tt", t, "", "", "score", csv_number(r.tgq->score));
        for (const auto& im : r.tgq->images) {
            put("tgq", "tt", t, im.name, "", "score", csv_number(im.score));
            for (size_t i = 0; i < im.classes.size(); ++i)
                put("tgq", "tt", t, im.name, im.classes[i], "similarity:" + im.captions[i], csv_number(im.similarities[i]));
        }
    }
    return out.str();
}

void write_reports(const fs::path& dir, const EvalReport& report, bool overwrite) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    const std::string json = report_json(report).dump(2) + "\n";
    const std::string csv = report_csv(report);
    // Check both destinations first so a refusal leaves nothing half-written.
    if (!overwrite)
        for (const char* name : {"eval.json", "eval.csv"})
            if (fs::exists(dir / name, ec))
                throw Error("'" + (dir / name).string() + "' exists; pass --overwrite to replace it, or choose another --output");
    write_file_atomic(dir / "eval.csv", csv, overwrite);
    write_file_atomic(dir / "eval.json", json, overwrite);
}

}  // namespace zgseg::eval
