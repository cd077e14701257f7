// Safetensors reader and writer: round trip against files written by the
// Python `safetensors` library, every malformed-file case rejected with a
// message naming the problem, and the writer's exact header text.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/safetensors.hpp"
#include "zgseg/error.hpp"

namespace fs = std::filesystem;
using zgseg::SafetensorsFile;

namespace {

const fs::path kData = fs::path(ZGSEG_TEST_DATA) / "safetensors";

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("zgseg_st_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

// A file image: 8-byte little-endian length + header text + data bytes.
std::string make_file(const std::string& header, const std::string& data, uint64_t claimed_len = UINT64_MAX) {
    uint64_t n = claimed_len == UINT64_MAX ? header.size() : claimed_len;
    std::string out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    return out + header + data;
}

void write(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Expects open() to throw an Error whose message contains `needle`.
void expect_rejected(const std::string& bytes, const std::string& needle) {
    TempDir dir;
    const fs::path p = dir.path / "bad.safetensors";
    write(p, bytes);
    try {
        SafetensorsFile::open(p);
        FAIL() << "accepted a malformed file; expected an error containing '" << needle << "'";
    } catch (const zgseg::Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(needle), std::string::npos) << msg;
        EXPECT_NE(msg.find(p.string()), std::string::npos) << "message must name the file: " << msg;
    }
}

const std::string k8Floats(32, '\0');

}  // namespace

TEST(Safetensors, ReadsEveryDtypeWrittenByPython) {
    auto file = SafetensorsFile::open(kData / "all_dtypes.safetensors");
    std::ifstream in(kData / "all_dtypes.json");
    const auto expected = nlohmann::json::parse(in);
    ASSERT_EQ(file.tensors().size(), expected.size());
    EXPECT_EQ(file.metadata().at("format"), "pt");
    for (const auto& [name, want] : expected.items()) {
        const auto* t = file.find(name);
        ASSERT_NE(t, nullptr) << name;
        EXPECT_EQ(t->shape, want["shape"].get<std::vector<int64_t>>()) << name;
        const auto values = want["values"];
        ASSERT_EQ(static_cast<size_t>(t->numel()), values.size()) << name;
        for (int64_t i = 0; i < t->numel(); ++i)
            EXPECT_EQ(zgseg::element_as_double(*t, i), values[i].get<double>()) << name << "[" << i << "]";
    }
}

TEST(Safetensors, WriterRoundTripsThroughReader) {
    const float a[] = {1.5f, -2.f, 3.25f, 0.f, 7.f, 8.f};
    const int64_t b[] = {-1, 1LL << 40};
    std::vector<zgseg::TensorView> tensors(2);
    tensors[0] = {"emb/1", zgseg::DType::F32, {2, 3}, reinterpret_cast<const uint8_t*>(a), sizeof a};
    tensors[1] = {"ids", zgseg::DType::I64, {2}, reinterpret_cast<const uint8_t*>(b), sizeof b};
    TempDir dir;
    write(dir.path / "x.safetensors", zgseg::serialize_safetensors(tensors, {{"k", "v"}}));
    auto file = SafetensorsFile::open(dir.path / "x.safetensors");
    EXPECT_EQ(file.metadata().at("k"), "v");
    ASSERT_NE(file.find("emb/1"), nullptr);
    EXPECT_EQ(std::memcmp(file.find("emb/1")->data, a, sizeof a), 0);
    EXPECT_EQ(std::memcmp(file.find("ids")->data, b, sizeof b), 0);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(file.find("emb/1")->data) % 8, 0u) << "data area is 8-byte aligned";
}

// The header's text in both key orders: the embeddings files keep the order
// their tensors were added in; the search index and bench's random models sort
// every key. Both must stay byte for byte as they are.
TEST(Safetensors, WriterHeaderInBothKeyOrders) {
    const float a[] = {1.f, 2.f};
    const uint8_t u[] = {7};
    const auto text = [&](zgseg::SafetensorsWriter::HeaderOrder order) {
        zgseg::SafetensorsWriter writer({{"k", "v"}}, order);
        writer.add({"z", zgseg::DType::F32, {2}, reinterpret_cast<const uint8_t*>(a), sizeof a});
        writer.add({"a", zgseg::DType::U8, {1}, u, sizeof u});
        const std::string header = writer.header();
        EXPECT_EQ(header.size() % 8, 0u);
        uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<uint8_t>(header[static_cast<size_t>(i)]);
        EXPECT_EQ(n, header.size() - 8);
        EXPECT_EQ(writer.bytes(), header + std::string(reinterpret_cast<const char*>(a), sizeof a) + "\x07");
        return header.substr(8, header.find_last_not_of(' ') - 7);
    };
    EXPECT_EQ(text(zgseg::SafetensorsWriter::HeaderOrder::AsAdded),
              R"({"__metadata__":{"k":"v"},"z":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("a":{"dtype":"U8","shape":[1],"data_offsets":[8,9]}})");
    EXPECT_EQ(text(zgseg::SafetensorsWriter::HeaderOrder::Sorted),
              R"({"__metadata__":{"k":"v"},"a":{"data_offsets":[8,9],"dtype":"U8","shape":[1]},)"
              R"("z":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}})");
}

TEST(Safetensors, WriterStreamsTensorsInPiecesAndChecksTheirSize) {
    zgseg::SafetensorsWriter writer;
    writer.add("ids", zgseg::DType::I32, {3}, [](const zgseg::SafetensorsWriter::Sink& sink) {
        for (int32_t v : {4, 5, 6}) sink(&v, sizeof v);
    });
    std::string bytes;
    writer.write([&](const void* data, size_t n) { bytes.append(static_cast<const char*>(data), n); });
    EXPECT_EQ(bytes, writer.bytes());
    TempDir dir;
    write(dir.path / "s.safetensors", bytes);
    const auto file = SafetensorsFile::open(dir.path / "s.safetensors");
    ASSERT_NE(file.find("ids"), nullptr);
    EXPECT_EQ(zgseg::element_as_double(*file.find("ids"), 2), 6.0);

    zgseg::SafetensorsWriter short_tensor;
    short_tensor.add("x", zgseg::DType::F32, {2}, [](const zgseg::SafetensorsWriter::Sink& sink) {
        const float one = 1.f;
        sink(&one, sizeof one);
    });
    EXPECT_THROW(short_tensor.bytes(), zgseg::Error);
    EXPECT_THROW(short_tensor.add("x", zgseg::DType::F32, {1}, nullptr), zgseg::Error) << "duplicate name";
    EXPECT_THROW(short_tensor.add("__metadata__", zgseg::DType::F32, {1}, nullptr), zgseg::Error);
}

TEST(Safetensors, RejectsEmptyFile) { expect_rejected("", "shorter than the 8-byte header length"); }
TEST(Safetensors, RejectsTruncatedLength) { expect_rejected("\x10\x00\x00", "shorter than the 8-byte header length"); }
TEST(Safetensors, RejectsHugeHeaderLength) {
    expect_rejected(make_file("{}", "", 0xffffffffffffull), "exceeds the");
}
TEST(Safetensors, RejectsHeaderPastEndOfFile) { expect_rejected(make_file("{}", "", 4096), "runs past the end"); }
TEST(Safetensors, RejectsTruncatedData) {
    expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", std::string(16, '\0')),
                    "outside the 16-byte data area");
}
TEST(Safetensors, RejectsNonJsonHeader) { expect_rejected(make_file("not json", ""), "not valid JSON"); }
TEST(Safetensors, RejectsNonObjectHeader) { expect_rejected(make_file("[1,2]", ""), "not a JSON object"); }
TEST(Safetensors, RejectsNonUtf8Name) {
    expect_rejected(make_file("{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", k8Floats),
                    "not valid JSON");
}
TEST(Safetensors, RejectsUnknownDtype) {
    expect_rejected(make_file(R"({"w":{"dtype":"F8_E9","shape":[8],"data_offsets":[0,8]}})", k8Floats),
                    "unsupported dtype 'F8_E9'");
}
TEST(Safetensors, RejectsWrongDtypeSize) {
    expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,32]}})", k8Floats),
                    "needs 16");
}
TEST(Safetensors, RejectsOverlappingRanges) {
    expect_rejected(make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                              R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", k8Floats),
                    "overlap");
}
TEST(Safetensors, RejectsReversedOffsets) {
    expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[16,8]}})", k8Floats),
                    "lie outside");
}
TEST(Safetensors, RejectsNegativeDimension) {
    expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[-8],"data_offsets":[0,32]}})", k8Floats),
                    "negative or non-integer dimension");
}
TEST(Safetensors, RejectsOverflowingShape) {
    expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,32]}})", k8Floats),
                    "overflows");
}
TEST(Safetensors, RejectsMissingOffsets) {
    expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[8]}})", k8Floats), "data_offsets");
}
TEST(Safetensors, RejectsBadMetadata) {
    expect_rejected(make_file(R"({"__metadata__":{"a":1}})", ""), "not a string");
}
TEST(Safetensors, MissingFileNamesThePath) {
    try {
        SafetensorsFile::open("/nonexistent/model.safetensors");
        FAIL();
    } catch (const zgseg::Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/model.safetensors"), std::string::npos);
    }
}
TEST(Safetensors, DirectoryIsRejected) {
    TempDir dir;
    EXPECT_THROW(SafetensorsFile::open(dir.path), zgseg::Error);
}
