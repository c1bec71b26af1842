#include "support/backends.h"

#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "sqlite/db.h"

namespace strata::testing {
namespace {

std::string unique_suffix() {
  static std::atomic<int> counter{0};
  return std::to_string(getpid()) + "_" + std::to_string(counter++);
}

std::string schema_of(const std::string& url) {
  const auto at = url.find("schema=");
  return at == std::string::npos ? "" : url.substr(at + 7);
}

}  // namespace

std::string to_string(BackendKind kind) {
  switch (kind) {
    case BackendKind::sqlite_file:
      return "sqlite_file";
    case BackendKind::sqlite_memory:
      return "sqlite_memory";
    case BackendKind::postgres:
      return "postgres";
  }
  return "unknown";
}

void PrintTo(BackendKind kind, std::ostream* out) {
  *out << to_string(kind);
}

std::string backend_name(const ::testing::TestParamInfo<BackendKind>& info) {
  return to_string(info.param);
}

std::string postgres_base_url() {
  const char* url = std::getenv("STRATA_TEST_PG");
  if (url == nullptr || *url == '\0') {
    throw std::runtime_error(
        "STRATA_TEST_PG is not set: run the tests through ctest, whose postgres fixture starts "
        "a throwaway server (PostgreSQL tests never skip)");
  }
  return url;
}

std::string fresh_database_url(BackendKind kind) {
  switch (kind) {
    case BackendKind::sqlite_file: {
      const auto path =
          std::filesystem::temp_directory_path() / ("strata-test-" + unique_suffix() + ".db");
      return "sqlite:" + path.string();
    }
    case BackendKind::sqlite_memory:
      return "sqlite::memory:";
    case BackendKind::postgres:
      return postgres_base_url() + "&schema=test_" + unique_suffix();
  }
  return "";
}

void drop_database(BackendKind kind, const std::string& url) {
  if (kind == BackendKind::sqlite_file) {
    const std::string path = url.substr(std::string("sqlite:").size());
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  } else if (kind == BackendKind::postgres) {
    run_admin_sql("DROP SCHEMA IF EXISTS " + schema_of(url) + " CASCADE");
  }
}

void run_store_sql(BackendKind kind, const std::string& url, const std::string& sql) {
  if (kind == BackendKind::postgres) {
    run_admin_sql("SET search_path TO " + schema_of(url) + "; " + sql);
    return;
  }
  ASSERT_EQ(kind, BackendKind::sqlite_file) << "an in-memory database is the store's alone";
  sqlite::Database file(url.substr(std::string("sqlite:").size()), false);
  file.exec(sql);
}

std::vector<std::string> run_admin_sql(const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> connection(PQconnectdb(postgres_base_url().c_str()),
                                                          &PQfinish);
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("admin connection: ") + PQerrorMessage(connection.get()));
  }
  PQsetNoticeProcessor(
      connection.get(), [](void*, const char*) {}, nullptr);
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection.get(), sql.c_str()),
                                                       &PQclear);
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("admin sql failed: " + sql + ": " +
                             PQresultErrorMessage(result.get()));
  }
  std::vector<std::string> rows;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    rows.emplace_back(PQgetvalue(result.get(), row, 0));
  }
  return rows;
}

void BackendTest::SetUp() {
  url_ = fresh_database_url(GetParam());
  store_.emplace(Store::open(url_));
}

void BackendTest::TearDown() {
  store_.reset();
  drop_database(GetParam(), url_);
}

EventData event(std::string type, std::string data, std::optional<std::string> metadata,
                std::optional<std::string> id) {
  return EventData{std::move(type), std::move(data), std::move(metadata), std::move(id)};
}

KvPut kv_write(std::string key, std::string value) {
  KvPut put;
  put.key = std::move(key);
  put.value = std::move(value);
  return put;
}

std::vector<RecordedEvent> read_everything(const Events& events, std::size_t page) {
  std::vector<RecordedEvent> all;
  AllReadOptions options;
  options.limit = page;
  for (auto batch = events.read_all(options); !batch.empty(); batch = events.read_all(options)) {
    options.after = batch.back().position;
    all.insert(all.end(), batch.begin(), batch.end());
  }
  return all;
}

std::vector<std::string> ids_of(const std::vector<RecordedEvent>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.id);
  return ids;
}

std::vector<RecordedEvent> follow_concurrent_appends(const Store& store, const std::string& prefix,
                                                     int writers, int each, int streams) {
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < each; ++i) {
        store.events().append(prefix + "-" + std::to_string((w * each + i) % streams),
                              event("Tick"));
      }
    });
  }
  Subscription feed = store.subscribe();
  std::vector<RecordedEvent> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (seen.size() < static_cast<std::size_t>(writers * each) &&
         std::chrono::steady_clock::now() < deadline) {
    auto batch = feed.poll(std::chrono::seconds(1));
    seen.insert(seen.end(), batch.begin(), batch.end());
  }
  for (auto& thread : threads) thread.join();
  return seen;
}

void expect_every_event_once_in_order(const Store& store, const std::vector<RecordedEvent>& seen) {
  EXPECT_EQ(ids_of(seen), ids_of(read_everything(store.events())));
  std::map<std::string, std::int64_t> last;
  for (const auto& e : seen) {
    EXPECT_EQ(e.version, last[e.stream] + 1) << e.stream;
    last[e.stream] = e.version;
  }
}

std::string run_command(const std::string& command, int* status) {
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), &pclose);
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string output;
  char buffer[4096];
  while (const std::size_t read = std::fread(buffer, 1, sizeof buffer, pipe.get())) {
    output.append(buffer, read);
  }
  const int raw = pclose(pipe.release());
  if (status != nullptr) *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return output;
}

std::vector<std::string> run_workers_together(const std::string& url, int count,
                                              const std::string& args, int delay_ms) {
  const auto start = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() +
                     delay_ms;
  const std::string command =
      worker_path() + " '" + url + "' " + std::to_string(start) + " " + args + " 2>&1";
  std::vector<FILE*> workers;
  for (int i = 0; i < count; ++i) workers.push_back(popen(command.c_str(), "r"));
  std::vector<std::string> outputs;
  for (FILE* worker : workers) {
    std::string output;
    char buffer[4096];
    while (const std::size_t read = std::fread(buffer, 1, sizeof buffer, worker)) {
      output.append(buffer, read);
    }
    EXPECT_EQ(pclose(worker), 0) << command << ": " << output;
    outputs.push_back(std::move(output));
  }
  return outputs;
}

std::string worker_path() {
  return STRATA_TEST_WORKER;
}
std::string cli_path() {
  return STRATA_CLI;
}

}  // namespace strata::testing
