// Store URLs: what is accepted, and how a bad one is named without leaking a password.
#include <gtest/gtest.h>

#include "core/url.h"
#include "strata/error.h"
#include "support/backends.h"

namespace strata::detail {
namespace {

std::string error_message(const std::string& url) {
  try {
    parse_store_url(url);
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument) << url;
    return error.what();
  }
  ADD_FAILURE() << "accepted " << url;
  return "";
}

TEST(StoreUrl, SqliteFileAndMemory) {
  const auto file = std::get<SqliteSettings>(parse_store_url("sqlite:data/app.db"));
  EXPECT_EQ(file.path, "data/app.db");
  EXPECT_FALSE(file.in_memory);
  const auto memory = std::get<SqliteSettings>(parse_store_url("sqlite::memory:"));
  EXPECT_TRUE(memory.in_memory);
  EXPECT_EQ(memory.max_connections, 1);
  const auto tuned = std::get<SqliteSettings>(
      parse_store_url("sqlite:/tmp/x.db?busy_timeout=2s&synchronous=normal&max_connections=2"));
  EXPECT_EQ(tuned.path, "/tmp/x.db");
  EXPECT_EQ(tuned.busy_timeout, std::chrono::milliseconds(2000));
  EXPECT_FALSE(tuned.synchronous_full);
  EXPECT_EQ(tuned.max_connections, 2);
}

TEST(StoreUrl, PostgresParametersAreConsumedBeforeLibpq) {
  const auto settings = std::get<PostgresSettings>(
      parse_store_url("postgresql://app:s3cret@db1,db2/orders?max_connections=4&min_connections=1&"
                      "acquire_timeout=250ms&statement_timeout=3s&schema=events_v2&"
                      "target_session_attrs=read-write&sslmode=disable"));
  EXPECT_EQ(settings.max_connections, 4);
  EXPECT_EQ(settings.min_connections, 1);
  EXPECT_EQ(settings.acquire_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(settings.statement_timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(settings.schema, "events_v2");
  EXPECT_EQ(settings.libpq_url,
            "postgresql://app:s3cret@db1,db2/orders?target_session_attrs=read-write&"
            "sslmode=disable");
  EXPECT_EQ(settings.redacted.find("s3cret"), std::string::npos);
  EXPECT_EQ(std::get<PostgresSettings>(parse_store_url("postgres://h/db")).schema, "strata");
  EXPECT_TRUE(std::get<PostgresSettings>(parse_store_url("postgres://h/db")).prepared_statements);
  EXPECT_FALSE(
      std::get<PostgresSettings>(parse_store_url("postgres://h/db?prepared_statements=false"))
          .prepared_statements);
  EXPECT_TRUE(std::get<PostgresSettings>(parse_store_url("postgres://h/db")).queue_vacuum);
  EXPECT_FALSE(std::get<PostgresSettings>(parse_store_url("postgres://h/db?queue_vacuum=false"))
                   .queue_vacuum);
}

TEST(StoreUrl, ErrorsNameWhatIsWrong) {
  EXPECT_NE(error_message("mysql://h/db").find("unknown store URL scheme 'mysql'"),
            std::string::npos);
  EXPECT_NE(error_message("strata.db").find("malformed store URL"), std::string::npos);
  EXPECT_NE(error_message("sqlite:").find("no file path"), std::string::npos);
  EXPECT_NE(error_message("sqlite:x.db?cache=big").find("'cache'"), std::string::npos);
  EXPECT_NE(error_message("postgres://h/db?max_connections=0").find("max_connections"),
            std::string::npos);
  EXPECT_NE(error_message("postgres://h/db?acquire_timeout=soon").find("acquire_timeout"),
            std::string::npos);
  // Beyond 100 years, refused before the conversion to milliseconds could overflow (found by
  // fuzz/url_fuzzer.cpp).
  EXPECT_NE(
      error_message("postgres://h/db?acquire_timeout=7777777777777777777s").find("acquire_timeout"),
      std::string::npos);
  EXPECT_NE(error_message("sqlite:x.db?busy_timeout=9999999999999m").find("busy_timeout"),
            std::string::npos);
  EXPECT_NE(error_message("postgres://h/db?schema=a;drop").find("schema"), std::string::npos);
  EXPECT_NE(error_message("postgres://h/db?prepared_statements=maybe").find("prepared_statements"),
            std::string::npos);
  EXPECT_NE(error_message("postgres://h/db?queue_vacuum=1").find("queue_vacuum='1'"),
            std::string::npos);
  EXPECT_NE(
      error_message("postgres://h/db?min_connections=5&max_connections=2").find("min_connections"),
      std::string::npos);
}

TEST(StoreUrl, PasswordsNeverAppearInMessages) {
  const std::string message =
      error_message("postgres://app:hunter2@h/db?max_connections=x&password=hunter3");
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter3"), std::string::npos) << message;
  EXPECT_EQ(redact_url("postgres://app:p%40ss@h/db?password=x&sslmode=require"),
            "postgres://app:***@h/db?password=***&sslmode=require");
  EXPECT_EQ(scrub_password("failed for p@ss and p%40ss", "postgres://app:p%40ss@h/db"),
            "failed for *** and ***");
  // Many short passwords, each a part of another's replacement: scrubbed in one pass, so the
  // message neither grows nor keeps any of them (found by fuzz/url_fuzzer.cpp, which timed out).
  std::string many = "postgres://h/db?";
  for (int i = 0; i < 40; ++i) many += "password=*&password=p&password=**&";
  EXPECT_EQ(scrub_password("p * ** ok", many), "*** *** *** ok");
}

TEST(StoreUrl, KeywordValueStringsAreRefusedWithoutTheirPassword) {
  for (const std::string conninfo :
       {"host=db password=hunter2 dbname=app", "password = 'hunter2 two' host=db",
        "host=db password='it\\'s hunter2'"}) {
    const std::string message = error_message(conninfo);
    EXPECT_NE(message.find("keyword/value"), std::string::npos) << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  }
  EXPECT_EQ(redact_url("host=db password=x port=5432"), "host=db password=*** port=5432");
}

TEST(StoreUrl, UnknownLibpqParameterIsNamedAtOpen) {
  try {
    Store::open("postgres://app:hunter2@localhost/db?frobnicate=1");
    FAIL() << "opened";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(error.what()).find("frobnicate"), std::string::npos) << error.what();
    EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos) << error.what();
  }
}

TEST(StoreUrl, UnreachableServerIsUnavailableWithoutPassword) {
  try {
    Store::open("postgresql://app:hunter2@127.0.0.1:1/db?connect_timeout=2");
    FAIL() << "opened";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::unavailable);
    EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("app:***@127.0.0.1:1"), std::string::npos)
        << error.what();
  }
}

TEST(Durations, AcceptUnits) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("5s"), std::chrono::milliseconds(5000));
  EXPECT_EQ(parse_duration("2m"), std::chrono::milliseconds(120000));
  EXPECT_EQ(parse_duration("40"), std::chrono::milliseconds(40));
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration(""));
}

}  // namespace
}  // namespace strata::detail
