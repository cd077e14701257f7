#include "after/report.hpp"

#include "core/sha256.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;

namespace zgseg::after {

namespace {

// A relative URL for a path: every byte but unreserved ones and '/' escaped,
// so names with spaces, '#', '%' or non-ASCII characters still resolve.
std::string url_path(const fs::path& relative) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : relative.generic_string()) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// JSON that is safe inside <script>: '<', '>' and '&' only occur in strings
// there, where \u003c etc. mean the same characters.
std::string script_safe_json(const nlohmann::json& j) {
    const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '<')
            out += "\\u003c";
        else if (c == '>')
            out += "\\u003e";
        else if (c == '&')
            out += "\\u0026";
        else
            out += c;
    }
    return out;
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

// 'sha256-BASE64' of an inline block, the CSP source that allows exactly it.
std::string csp_hash(const std::string& text) {
    Sha256 h;
    h.update(text);
    const std::string hex = h.hex_digest();
    std::string bytes;
    for (size_t i = 0; i < hex.size(); i += 2) bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < bytes.size(); i += 3) {
        uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
        if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
        out += b64[(v >> 18) & 63];
        out += b64[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? b64[(v >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? b64[v & 63] : '=';
    }
    return "'sha256-" + out + "'";
}

}  // namespace

std::string report_html(const BatchFolder& batch, const fs::path& html_path, ReportStats* stats) {
    std::error_code ec;
    const fs::path page_dir = fs::weakly_canonical(fs::absolute(html_path, ec).parent_path(), ec);
    // Compact per-image records: the page holds 10,000 images in a few MB.
    nlohmann::json images = nlohmann::json::array();
    ReportStats s;
    for (const auto& image : batch.images) {
        const auto doc = read_image_json(image);
        const auto& input = doc.value("input", nlohmann::json::object());
        nlohmann::json segs = nlohmann::json::array();
        for (const auto& seg : doc["segments"]) {
            const auto& mask = seg["mask"];
            segs.push_back({seg["id"], seg["label"], seg.value("area", 0), seg.value("clip_score", 0.0),
                            seg.value("heap_id", -1), seg.value("parent_heap_id", -1), seg.value("merged", false),
                            mask.value("counts", std::string())});
            ++s.segments;
        }
        images.push_back({{"n", image.name},
                          {"o", url_path(image.overlay.lexically_relative(page_dir))},
                          {"w", input.value("width", 0)},
                          {"h", input.value("height", 0)},
                          {"p", input.value("path", std::string())},
                          {"s", std::move(segs)}});
        ++s.images;
    }
    s.failures = batch.failures.size();
    if (stats) *stats = s;
    const nlohmann::json data = {{"root", batch.root.string()}, {"images", std::move(images)}, {"failures", batch.failures}};

    const std::string css = kReportCss, js = kReportJs;
    const std::string csp = "default-src 'none'; img-src 'self' file: data:; style-src " + csp_hash(css) +
                            "; script-src " + csp_hash(js) + "; base-uri 'none'; form-action 'none'";
    std::string html;
    html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    html += "<meta http-equiv=\"Content-Security-Policy\" content=\"" + csp + "\">\n";
    html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    html += "<title>zgseg report — " + html_escape(batch.root.filename().string()) + "</title>\n";
    html += "<style>" + css + "</style>\n</head>\n<body>\n";
    html += "<header><h1>zgseg report <small>" + html_escape(batch.root.string()) +
            "</small></h1><input id=\"filter\" type=\"search\" placeholder=\"filter labels\" autocomplete=\"off\">"
            "<span id=\"count\"></span></header>\n";
    html += "<section id=\"summary\"></section>\n<section id=\"detail\" hidden></section>\n<main id=\"grid\"></main>\n";
    html += "<script type=\"application/json\" id=\"zgseg-data\">" + script_safe_json(data) + "</script>\n";
    html += "<script>" + js + "</script>\n</body>\n</html>\n";
    return html;
}

}  // namespace zgseg::after
