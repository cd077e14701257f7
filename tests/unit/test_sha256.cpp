// SHA-256 against the FIPS 180-4 test vectors and coreutils' sha256sum.
#include <gtest/gtest.h>

#include <string>

#include "core/sha256.hpp"

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(zgseg::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(zgseg::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(zgseg::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(zgseg::sha256_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FileMatchesSha256sum) {
    // tests/data/voc-sample/JPEGImages/2011_000003.jpg, hashed with coreutils' sha256sum.
    const auto path = std::filesystem::path(ZGSEG_TEST_DATA) / "voc-sample/JPEGImages/2011_000003.jpg";
    const std::string want = "94bc550055447e1fab3982571d7114eb4a02a868054f34cb15f95cadf3e48c9a";
    EXPECT_EQ(zgseg::sha256_file(path), want);
    EXPECT_THROW(zgseg::sha256_file("/nonexistent/file"), std::exception);
}
