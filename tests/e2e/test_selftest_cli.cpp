// `zgseg selftest`: passes on this machine's CPU against the committed
// fixtures, fails (exit 1, the check named) when an expected tensor is wrong,
// and gives a one-line error when its data folder is missing.
#include "cli_harness.hpp"

using namespace e2e;

TEST(SelftestCli, PassesOnTheCpuAndWritesJson) {
    TempDir dir;
    const auto r = run_zgseg("selftest --device cpu --data " + quote(kData.string()) + " --json " +
                             quote((dir.path / "selftest.json").string()));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("selftest passed: 8 checks, 0 failed"), std::string::npos) << r.out;
    const auto j = nlohmann::json::parse(slurp(dir.path / "selftest.json"));
    EXPECT_TRUE(j["passed"].get<bool>());
    EXPECT_EQ(j["device"], "cpu");
    ASSERT_EQ(j["checks"].size(), 8u);
    for (const auto& c : j["checks"]) {
        EXPECT_LE(c["worst_ratio"].get<double>(), 1.0) << c["name"];
        EXPECT_GT(c["rtol"].get<double>(), 0.0) << c["name"];
    }
}

TEST(SelftestCli, AWrongExpectedTensorFails) {
    TempDir dir;
    fs::copy(kData / "nets", dir.path / "nets", fs::copy_options::recursive);
    fs::copy(kData / "embedding", dir.path / "embedding", fs::copy_options::recursive);
    // Overwrite the first value of the expected DINO keys (found through the safetensors header).
    const fs::path expected = dir.path / "nets/dino_expected.safetensors";
    {
        std::fstream f(expected, std::ios::in | std::ios::out | std::ios::binary);
        uint64_t header_size = 0;
        f.read(reinterpret_cast<char*>(&header_size), sizeof header_size);
        std::string header(header_size, '\0');
        f.read(header.data(), static_cast<std::streamsize>(header_size));
        const auto entry = nlohmann::json::parse(header).at("keys_crop_stride2");
        ASSERT_EQ(entry.at("dtype"), "F32");
        f.seekp(static_cast<std::streamoff>(8 + header_size + entry.at("data_offsets")[0].get<uint64_t>()));
        const float wrong = 1000.0f;
        f.write(reinterpret_cast<const char*>(&wrong), sizeof wrong);
    }
    const auto r = run_zgseg("selftest --device cpu --data " + quote(dir.path.string()));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("selftest FAILED: 8 checks, 1 failed"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("dino keys, stride 2"), std::string::npos) << r.out;
}

TEST(SelftestCli, MissingDataIsAOneLineError) {
    const auto r = run_zgseg("selftest --device cpu --data /nonexistent/selftest");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("selftest data not found"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}
