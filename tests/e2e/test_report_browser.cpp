// `zgseg report` in a real browser: a batch with the tiny models (one photo
// with spaces, '#' and a non-ASCII letter in its name, one broken file), its
// page rendered by headless Chromium (scripts/setup.sh --tests installs it),
// and the DOM after the script ran checked: every image and segment, the
// overlays loaded through their relative links, the label filter, an image's
// view with a segment's mask decoded from its RLE (its pixel count must equal
// the segment's area), the failed image in the summary. No request may leave
// the machine: Chromium's net log must show no request made for the page
// (the same check sees a probe when a page has no CSP), and the page's CSP
// must block a probe injected into a copy of the report.
#include <unistd.h>

#include <regex>

#include "cli_harness.hpp"

using namespace e2e;

namespace {

// Chromium from $ZGSEG_CHROMIUM or PATH ("" when none).
std::string find_chromium() {
    if (const char* env = std::getenv("ZGSEG_CHROMIUM"); env && *env) return env;
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');)
        for (const char* name : {"chromium", "chromium-browser", "google-chrome"})
            if (!dir.empty() && ::access((fs::path(dir) / name).c_str(), X_OK) == 0) return (fs::path(dir) / name).string();
    return "";
}

std::string percent_encode(const std::string& s, bool keep_slash) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/'))
            out += static_cast<char>(c);
        else
            out += std::string("%") + hex[c >> 4] + hex[c & 15];
    }
    return out;
}

int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

// Cards whose opening tag has the hidden attribute.
int hidden_cards(const std::string& dom) {
    int n = 0;
    for (size_t p = dom.find("<article class=\"card\""); p != std::string::npos; p = dom.find("<article class=\"card\"", p + 1))
        n += dom.substr(p, dom.find('>', p) - p).find(" hidden") != std::string::npos;
    return n;
}

std::string attribute(const std::string& dom, const std::string& name) {
    std::smatch m;
    if (std::regex_search(dom, m, std::regex(" " + name + "=\"([^\"]*)\""))) return m[1];
    return "<absent>";
}

struct Page {
    std::string dom;
    std::vector<std::string> requests;  // URLs requested on behalf of a file:// page
};

class ReportBrowser : public ::testing::Test {
protected:
    void SetUp() override {
        chromium_ = find_chromium();
        ASSERT_FALSE(chromium_.empty()) << "Chromium not found: run scripts/setup.sh --tests (installs Debian's chromium) "
                                           "or set ZGSEG_CHROMIUM";
    }

    // The batch: two photos (one with an awkward name) and a broken file.
    fs::path make_batch() {
        const fs::path models = make_tiny_models(dir_.path / "models"), in = dir_.path / "in", out = dir_.path / "out";
        fs::create_directories(in / "sub");
        fs::copy_file(kData / "voc-sample/JPEGImages/2011_000003.jpg", in / "sub" / kOdd);
        fs::copy_file(kData / "voc-sample/JPEGImages/2011_000006.jpg", in / "b.jpg");
        std::ofstream(in / "broken.jpg") << "not a picture";
        const auto r = run_zgseg("batch " + quote(in.string()) + " -o " + quote(out.string()) + " --models " +
                                 quote(models.string()) + " --vocab " + quote((kData / "models-tiny/vocab.txt").string()) +
                                 " --cache-dir " + quote((dir_.path / "cache").string()) +
                                 " --preset fast --device cpu --threads 2");
        EXPECT_EQ(r.exit_code, 1) << "the broken file fails, the rest is done: " << r.err;
        return out;
    }

    Page render(const fs::path& html, const std::string& fragment) const {
        const fs::path run = dir_.path / ("chromium-" + std::to_string(++runs_));
        fs::create_directories(run);
        const std::string url = "file://" + percent_encode(fs::absolute(html).string(), true) + fragment;
        std::string cmd = "timeout 120 " + quote(chromium_) + " --headless" + (::geteuid() == 0 ? " --no-sandbox" : "") +
                          " --disable-gpu --disable-dev-shm-usage --no-first-run --disable-background-networking"
                          " --disable-component-update --disable-sync --disable-default-apps"
                          " --host-resolver-rules='MAP * ~NOTFOUND' --window-size=1280,1600"
                          " --user-data-dir=" + quote((run / "profile").string()) +
                          " --log-net-log=" + quote((run / "net.json").string()) +
                          " --virtual-time-budget=10000 --dump-dom " + quote(url) + " >" +
                          quote((run / "dom.html").string()) + " 2>" + quote((run / "stderr").string());
        const int status = std::system(cmd.c_str());
        EXPECT_EQ(status, 0) << cmd << "\n" << slurp(run / "stderr");
        Page page{slurp(run / "dom.html"), {}};
        // Requests made for the page carry its file:// isolation key; the
        // browser's own housekeeping requests (if any) do not.
        const auto log = nlohmann::json::parse(slurp(run / "net.json"), nullptr, false);
        EXPECT_FALSE(log.is_discarded()) << "unreadable net log";
        if (!log.is_discarded())
            for (const auto& e : log["events"]) {
                const auto& p = e.value("params", nlohmann::json::object());
                if (p.contains("url") && p.value("network_isolation_key", std::string()).find("file://") != std::string::npos)
                    page.requests.push_back(p["url"].get<std::string>());
            }
        return page;
    }

    static inline const std::string kOdd = "photo \xc3\xa9 #1.jpg";  // "photo é #1.jpg"
    TempDir dir_;
    std::string chromium_;
    mutable int runs_ = 0;
};

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(slurp(p)); }

}  // namespace

TEST_F(ReportBrowser, ShowsEveryImageAndSegmentFiltersAndHighlightsOffline) {
    const fs::path out = make_batch();
    const fs::path html = out / "report.html";
    auto r = run_zgseg("report " + quote(out.string()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_TRUE(fs::exists(html));
    r = run_zgseg("report " + quote(out.string()));  // exists: refused without --overwrite
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--overwrite"), std::string::npos) << r.err;
    ASSERT_EQ(run_zgseg("report " + quote(out.string()) + " --overwrite").exit_code, 0);

    const std::string odd_name = "sub/photo \xc3\xa9 #1";
    std::vector<std::pair<std::string, nlohmann::json>> images = {{"b", read_json(out / "b.json")},
                                                                  {odd_name, read_json(out / (odd_name + ".json"))}};
    size_t segments = 0;
    for (const auto& [name, doc] : images) segments += doc["segments"].size();

    const auto page = render(html, "");
    EXPECT_EQ(attribute(page.dom, "data-ready"), "1");
    EXPECT_EQ(attribute(page.dom, "data-csp-violations"), "0");
    EXPECT_EQ(count(page.dom, "<article class=\"card\""), 2);
    for (const auto& [name, doc] : images) EXPECT_EQ(count(page.dom, "data-image=\"" + name + "\""), 1) << name;
    EXPECT_EQ(count(page.dom, "<li class=\"seg\""), static_cast<int>(segments));
    EXPECT_EQ(count(page.dom, "data-overlay=\"loaded\""), 2) << "both overlays load through their relative links";
    EXPECT_NE(page.dom.find("broken.jpg"), std::string::npos) << "the failed image is in the summary";
    EXPECT_TRUE(page.requests.empty()) << page.requests.front();

    // The filter (#q=): cards without a matching label are hidden.
    const std::string label = images[0].second["segments"][0]["label"];
    int shown = 0, matches = 0;
    for (const auto& [name, doc] : images) {
        bool any = false;
        for (const auto& s : doc["segments"])
            if (s["label"].get<std::string>().find(label) != std::string::npos) ++matches, any = true;
        shown += any;
    }
    const auto filtered = render(html, "#q=" + percent_encode(label, false));
    EXPECT_EQ(attribute(filtered.dom, "data-shown"), std::to_string(shown));
    EXPECT_EQ(count(filtered.dom, "<li class=\"seg match\""), matches);
    EXPECT_EQ(hidden_cards(filtered.dom), 2 - shown);
    const auto none = render(html, "#q=no-such-label-xyz");
    EXPECT_EQ(attribute(none.dom, "data-shown"), "0");
    EXPECT_EQ(hidden_cards(none.dom), 2);

    // An image's view with one segment highlighted: its mask, decoded from
    // the RLE in JavaScript, has exactly the segment's area.
    const auto& seg = images[1].second["segments"].back();
    const auto detail = render(html, "#image=" + percent_encode(odd_name, false) + "&segment=" + seg["id"].dump());
    EXPECT_EQ(attribute(detail.dom, "data-highlight"), seg["id"].dump());
    EXPECT_EQ(attribute(detail.dom, "data-mask-area"), seg["area"].dump());
    EXPECT_EQ(count(detail.dom, "<tr class=\"seg"), static_cast<int>(images[1].second["segments"].size()));
    EXPECT_TRUE(detail.requests.empty());
}

TEST_F(ReportBrowser, NoRequestLeavesTheMachine) {
    const fs::path out = make_batch();
    ASSERT_EQ(run_zgseg("report " + quote(out.string())).exit_code, 0);
    const std::string page = slurp(out / "report.html");
    const std::string probe = "<img src=\"http://zgseg-probe.invalid/probe.png\">";

    // The check sees a page's request when nothing blocks it...
    std::ofstream(dir_.path / "control.html") << "<!DOCTYPE html><html><body>" + probe + "</body></html>";
    const auto control = render(dir_.path / "control.html", "");
    ASSERT_FALSE(control.requests.empty()) << "the net-log check must see an unblocked request";
    EXPECT_NE(control.requests[0].find("zgseg-probe.invalid"), std::string::npos);

    // ...the report's CSP blocks the same probe injected into a copy...
    std::string injected = page;
    injected.insert(injected.rfind("</body>"), probe);  // after the script, which counts violations
    std::ofstream(out / "probe.html") << injected;
    const auto blocked = render(out / "probe.html", "");
    EXPECT_NE(attribute(blocked.dom, "data-csp-violations"), "0");
    EXPECT_TRUE(blocked.requests.empty()) << blocked.requests.front();

    // ...and the report itself has no external reference at all.
    EXPECT_EQ(page.find("http://"), std::string::npos);
    EXPECT_EQ(page.find("https://"), std::string::npos);
    EXPECT_NE(page.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
}
