// TLS to PostgreSQL: a server whose certificate a throwaway CA signed, started by the test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "support/backends.h"

namespace strata::testing {
namespace {

class PostgresTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int status = -1;
    const std::string out =
        run_command("STRATA_PG_TLS=1 " + std::string(STRATA_PG_SERVER) + " start " + dir_ + " " +
                        std::to_string(port_) + " 2>&1",
                    &status);
    ASSERT_EQ(status, 0) << out;
  }
  void TearDown() override {
    run_command(std::string(STRATA_PG_SERVER) + " stop " + dir_ + " 2>&1");
  }
  // A URL for the server at `host`, trusting the certificate authority in `ca`.
  std::string url(const std::string& host, const std::string& ca) const {
    return "postgresql://strata@" + host + ":" + std::to_string(port_) +
           "/postgres?sslmode=verify-full&sslrootcert=" + dir_ + "/" + ca;
  }

  const int port_ = 20000 + getpid() % 20000;
  const std::string dir_ = "/tmp/strata-tls-" + std::to_string(getpid());
};

TEST_F(PostgresTlsTest, VerifyFullWorksWithTheRightAuthorityAndFailsClearlyWithAWrongOne) {
  {
    Store store = Store::open(url("localhost", "ca.crt"));
    EXPECT_EQ(store.events().append("tls-1", {event("Sealed")}).version, 1);
    EXPECT_TRUE(store.health().ok);
  }
  try {
    Store::open(url("localhost", "other-ca.crt"));
    FAIL() << "opened with a certificate no trusted authority signed";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(error.code(), ErrorCode::unavailable);
    EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  try {
    Store::open(url("localhost", "missing-ca.crt"));
    FAIL() << "opened without a root certificate";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("root certificate file"), std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace strata::testing
