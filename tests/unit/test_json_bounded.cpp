// JSON from user files: a nesting limit, reported as a nlohmann exception (so
// each reader's message names its file).
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "core/json_bounded.hpp"

TEST(JsonBounded, ParsesOrdinaryDocuments) {
    const auto j = zgseg::parse_bounded_json(std::string(R"({"a": [1, {"b": [2, 3]}], "c": "d"})"));
    EXPECT_EQ(j["a"][1]["b"][1], 3);
    const std::string at_limit = std::string(zgseg::kMaxJsonDepth, '[') + std::string(zgseg::kMaxJsonDepth, ']');
    EXPECT_NO_THROW(zgseg::parse_bounded_json(at_limit));
}

TEST(JsonBounded, RefusesDeepNesting) {
    const std::string deeper = std::string(zgseg::kMaxJsonDepth + 1, '[') + std::string(zgseg::kMaxJsonDepth + 1, ']');
    EXPECT_THROW(zgseg::parse_bounded_json(deeper), nlohmann::json::exception);
    // A well-formed document two hundred thousand levels deep (plain nlohmann
    // would build and destroy it) is refused: the limit applies while parsing.
    const std::string hostile = std::string(200'000, '[') + std::string(200'000, ']');
    EXPECT_THROW(zgseg::parse_bounded_json(hostile), nlohmann::json::out_of_range);
}

TEST(JsonBounded, IteratorRangeAndStreamInputs) {
    const std::string text = R"({"x": 1})";
    EXPECT_EQ(zgseg::parse_bounded_json(text.data(), text.data() + text.size())["x"], 1);
    std::istringstream in(text);
    EXPECT_EQ(zgseg::parse_bounded_json(in)["x"], 1);
}
