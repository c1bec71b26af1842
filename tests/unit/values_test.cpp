// Value types and the specified encodings that stored data depends on.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>

#include "core/ids.h"
#include "core/json.h"
#include "core/utf8.h"
#include "core/validate.h"
#include "strata/error.h"
#include "strata/event.h"

namespace strata {
namespace {

TEST(PositionTest, PrintsAndParsesBack) {
  const Position position(7331, 45012);
  EXPECT_EQ(position.to_string(), "7331/45012");
  EXPECT_EQ(Position::parse("7331/45012"), position);
  EXPECT_EQ(Position::parse(Position::start().to_string()), Position::start());
  EXPECT_LT(Position(1, 9), Position(2, 1));
  EXPECT_LT(Position(2, 1), Position(2, 3));
}

TEST(PositionTest, RejectsMalformedText) {
  for (const char* text : {"", "12", "1/", "/2", "a/b", "1/2/3", "-1/2", "1 /2"}) {
    try {
      Position::parse(text);
      ADD_FAILURE() << "parsed '" << text << "'";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(error.what()).find(std::string("'") + text + "'"), std::string::npos);
    }
  }
}

TEST(ExpectedVersionTest, HoldsFor) {
  EXPECT_TRUE(ExpectedVersion::any().holds_for(0));
  EXPECT_TRUE(ExpectedVersion::any().holds_for(5));
  EXPECT_TRUE(ExpectedVersion::no_stream().holds_for(0));
  EXPECT_FALSE(ExpectedVersion::no_stream().holds_for(1));
  EXPECT_FALSE(ExpectedVersion::stream_exists().holds_for(0));
  EXPECT_TRUE(ExpectedVersion::stream_exists().holds_for(3));
  EXPECT_TRUE(ExpectedVersion::exact(3).holds_for(3));
  EXPECT_FALSE(ExpectedVersion::exact(3).holds_for(4));
  EXPECT_TRUE(ExpectedVersion::exact(0).holds_for(0));
}

TEST(Ids, UuidV7IsCanonicalVersionedAndUnique) {
  const std::regex form("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = detail::new_uuid_v7();
    ASSERT_TRUE(std::regex_match(id, form)) << id;
    ASSERT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(Ids, CanonicalUuid) {
  EXPECT_EQ(detail::canonical_uuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(detail::canonical_uuid("a0eebc999c0b4ef8bb6d6bb9bd380a11"),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_FALSE(detail::canonical_uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"));
  EXPECT_FALSE(detail::canonical_uuid("g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
  EXPECT_FALSE(detail::canonical_uuid("a0eebc99-9c0b4-ef8-bb6d-6bb9bd380a11"));
}

TEST(Ids, StableHashIsFnv1a64) {
  // Published FNV-1a test vectors: a persisted hash must never change.
  EXPECT_EQ(detail::stable_hash64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(detail::stable_hash64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(detail::stable_hash64("foobar"), 0x85944171f73967e8ULL);
}

TEST(Timestamps, Rfc3339WithMicroseconds) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(1795308296123456), "2026-11-22T00:44:56.123456Z");
  EXPECT_EQ(format_timestamp(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(Validation, Utf8) {
  EXPECT_TRUE(detail::is_valid_utf8("plain"));
  EXPECT_TRUE(detail::is_valid_utf8("caf\xc3\xa9 \xf0\x9f\x93\xa6"));
  EXPECT_FALSE(detail::is_valid_utf8("\xc3"));              // Truncated.
  EXPECT_FALSE(detail::is_valid_utf8("\xc0\xaf"));          // Overlong.
  EXPECT_FALSE(detail::is_valid_utf8("\xed\xa0\x80"));      // Surrogate.
  EXPECT_FALSE(detail::is_valid_utf8("\xf4\x90\x80\x80"));  // Past U+10FFFF.
}

TEST(Validation, JsonGrammar) {
  const std::vector<std::string> valid = {R"({"a":[1,2.5,"x",null,true,false]})",
                                          " 42 ",
                                          "\t\n[]\r\n",
                                          "{}",
                                          "\"\"",
                                          "0",
                                          "-0",
                                          "-0.0e+5",
                                          "1E-7",
                                          "123.456e10",
                                          R"("esc \" \\ \/ \b \f \n \r \t \u00e9 \u0000")",
                                          R"("pair \ud83d\ude80")",
                                          "\"caf\xc3\xa9 \xf0\x9f\x9a\x80\"",
                                          R"({"a":{"b":{"c":[[[]]]}}})",
                                          R"({"dup":1,"dup":2})"};
  const std::vector<std::string> invalid = {"",
                                            " ",
                                            "{a:1}",
                                            R"({"a":1} trailing)",
                                            "\"\xc3\"",
                                            "01",
                                            "1.",
                                            ".5",
                                            "+1",
                                            "1e",
                                            "-",
                                            "[1,]",
                                            "{\"a\":1,}",
                                            "[1 2]",
                                            "{\"a\" 1}",
                                            "tru",
                                            "nul",
                                            "True",
                                            "'x'",
                                            "\"tab\there\"",
                                            R"("\x")",
                                            R"("\u12")",
                                            R"("\ud800")",
                                            R"("\udc00")",
                                            R"("\ud800\u0041")",
                                            "\"\xed\xa0\x80\"",
                                            "[",
                                            "{",
                                            "\"open",
                                            "[1]]",
                                            "NaN",
                                            "Infinity"};
  for (const auto& text : valid) EXPECT_TRUE(detail::is_valid_json(text)) << text;
  for (const auto& text : invalid) EXPECT_FALSE(detail::is_valid_json(text)) << text;
}

TEST(Validation, JsonDepthIsBounded) {
  const auto nested = [](int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']');
  };
  EXPECT_TRUE(detail::is_valid_json(nested(kMaxJsonDepth)));
  EXPECT_FALSE(detail::is_valid_json(nested(kMaxJsonDepth + 1)));
  EXPECT_FALSE(detail::is_valid_json(std::string(100000, '[')));  // No stack overflow.
}

// Differential check against nlohmann::json's parser on random mutations of valid documents:
// the two must agree wherever nlohmann has no known leniency (it accepts lone surrogates).
TEST(Validation, JsonAgreesWithAReferenceParser) {
  const std::vector<std::string> seeds = {R"({"k":[1,-2.5e3,"s\u00e9",true,null,{"x":""}]})",
                                          R"([0,{"a":"\n"},[],"\ud83d\ude80"])", "\"x\""};
  const std::string alphabet = "{}[]\",:.-+eE0123456789 \\tufnlrsa\x01\xc3\xa9";
  std::mt19937 random(42);
  int checked = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[i % seeds.size()];
    for (int edits = 1 + i % 3; edits > 0; --edits) {
      const std::size_t at = random() % (text.size() + 1);
      const char c = alphabet[random() % alphabet.size()];
      switch (random() % 3) {
        case 0:
          text.insert(at, 1, c);
          break;
        case 1:
          if (at < text.size()) text.erase(at, 1);
          break;
        default:
          if (at < text.size()) text[at] = c;
          break;
      }
    }
    if (text.find("\\u") != std::string::npos) continue;  // nlohmann accepts lone surrogates.
    ASSERT_EQ(detail::is_valid_json(text), nlohmann::json::accept(text)) << text;
    ++checked;
  }
  EXPECT_GT(checked, 5000);
}

}  // namespace
}  // namespace strata
