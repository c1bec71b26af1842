// Test support: a fresh, isolated store for each test on each backend.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "strata/strata.h"

namespace strata::testing {

enum class BackendKind { sqlite_file, sqlite_memory, postgres };

std::string to_string(BackendKind kind);
void PrintTo(BackendKind kind, std::ostream* out);

// The throwaway server's base URL, from STRATA_TEST_PG (set by ctest's postgres fixture).
// Fails the test, never skips it, when the variable is missing.
std::string postgres_base_url();

// A URL for a new, empty database of `kind`: a new file, a new in-memory database, or a new
// schema on the test server. Removed by drop_database.
std::string fresh_database_url(BackendKind kind);
void drop_database(BackendKind kind, const std::string& url);

// Runs `sql` on the test server through plain libpq (for setting up faults, not for checks a
// user could not make through the API). Returns the first column of each row.
std::vector<std::string> run_admin_sql(const std::string& sql);

// Runs `sql` on the store at `url` itself, behind its back (to damage what it stored, say): on
// PostgreSQL in the store's schema, on SQLite in its file. Not for an in-memory database.
void run_store_sql(BackendKind kind, const std::string& url, const std::string& sql);

// Each test gets a fresh store on the backend it is instantiated for.
class BackendTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override;
  void TearDown() override;

  BackendKind kind() const { return GetParam(); }
  // The store's URL, for opening more stores (or processes) on the same database.
  const std::string& url() const { return url_; }
  Store& store() { return *store_; }
  Events events() { return store_->events(); }

 private:
  std::string url_;
  std::optional<Store> store_;
};

// "sqlite_file", "sqlite_memory", "postgres": test-name suffixes.
std::string backend_name(const ::testing::TestParamInfo<BackendKind>& info);

// Instantiates a BackendTest suite for every backend, or for those shared between processes.
#define STRATA_ALL_BACKENDS(suite)                                                          \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                                 \
                           ::testing::Values(::strata::testing::BackendKind::sqlite_file,   \
                                             ::strata::testing::BackendKind::sqlite_memory, \
                                             ::strata::testing::BackendKind::postgres),     \
                           ::strata::testing::backend_name)
#define STRATA_SHARED_BACKENDS(suite)                                                     \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                               \
                           ::testing::Values(::strata::testing::BackendKind::sqlite_file, \
                                             ::strata::testing::BackendKind::postgres),   \
                           ::strata::testing::backend_name)

// Shorthand for one event.
EventData event(std::string type, std::string data = "{}",
                std::optional<std::string> metadata = std::nullopt,
                std::optional<std::string> id = std::nullopt);

// The schema version every migration leads to.
constexpr int kLatestSchema = 12;

// Shorthand for an unconditional key-value write.
KvPut kv_write(std::string key, std::string value);

// Every event of the store, paging through read_all.
std::vector<RecordedEvent> read_everything(const Events& events, std::size_t page = 1000);

// The ids of `events`, in their order.
std::vector<std::string> ids_of(const std::vector<RecordedEvent>& events);

// While `writers` threads each append `each` events to streams `prefix`-0 … -(streams − 1), a
// live subscriber follows the feed; returns what it saw once all were seen (or after 60 s).
std::vector<RecordedEvent> follow_concurrent_appends(const Store& store, const std::string& prefix,
                                                     int writers, int each, int streams);

// Expects `seen` to be every event of `store` once, in the all-events order, and each stream's
// versions in order.
void expect_every_event_once_in_order(const Store& store, const std::vector<RecordedEvent>& seen);

// The error code a call throws, or nullopt when it does not throw.
template <class Fn>
std::optional<ErrorCode> error_code_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& error) {
    return error.code();
  }
  return std::nullopt;
}

// Runs a helper program and returns its standard output; its exit status in `status`.
std::string run_command(const std::string& command, int* status = nullptr);
// Starts `count` helper processes (tests/support/worker.cpp) on `url` with `args`, all told to
// begin at one moment `delay` from now, and waits for them. Returns each one's output (stdout
// and stderr); a process that exits non-zero fails the test.
std::vector<std::string> run_workers_together(const std::string& url, int count,
                                              const std::string& args, int delay_ms = 1000);
// A path to a built helper, from the compile-time definitions of the test target.
std::string worker_path();
std::string cli_path();

}  // namespace strata::testing
