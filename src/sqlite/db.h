// A thin RAII layer over the SQLite C API. Knows nothing of events or stores.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace strata::sqlite {

// A failed SQLite call, with its primary and extended result codes.
class SqliteError : public std::runtime_error {
 public:
  SqliteError(int extended_code, const std::string& message)
      : std::runtime_error(message), extended_code_(extended_code) {}
  int primary_code() const noexcept { return extended_code_ & 0xFF; }
  int extended_code() const noexcept { return extended_code_; }

 private:
  int extended_code_;
};

// A statement prepared once per connection, with its result columns' names.
struct Prepared {
  struct Finalize {
    void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
  };
  std::unique_ptr<sqlite3_stmt, Finalize> statement;
  std::vector<std::string> columns;
};

// One use of a prepared statement: bind, step, read columns. Resets the statement (and clears
// its bindings) when destroyed, so the cached statement is ready for the next use.
class Query {
 public:
  explicit Query(const Prepared& prepared)
      : statement_(prepared.statement.get()), columns_(&prepared.columns) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query();

  // Parameters are numbered from 1, as in SQLite. Text is copied (SQLITE_TRANSIENT).
  Query& bind(int index, std::string_view text);
  Query& bind(int index, std::int64_t value);
  Query& bind_optional(int index, const std::optional<std::string_view>& text);
  Query& bind_null(int index);
  // Binds bytes as a BLOB: compared bytewise, unlike TEXT.
  Query& bind_blob(int index, std::string_view bytes);

  // Advances to the next row: true when there is one, false when done. Throws SqliteError.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  // Makes the statement ready to run again; bindings stay until rebound.
  void reset();

  // The number of the result column named `name`. Throws SqliteError naming it when the
  // statement returns no such column: readers name the columns they read, so a column added to
  // a statement or moved in it cannot shift them.
  int column(std::string_view name) const;
  bool is_null(int column) const;
  std::int64_t integer(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::string blob(int column) const;

 private:
  void check(int result) const;
  sqlite3_stmt* statement_;
  const std::vector<std::string>* columns_;
};

// One database connection with a cache of prepared statements. Used by one thread at a time.
class Database {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" for an in-memory one).
  // Opens the database file at `path`, creating it if `create`. Throws SqliteError.
  Database(const std::string& path, bool create);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more statements that return no rows.
  void exec(const std::string& sql);
  // A use of the statement `sql`, prepared once per connection and reused. Throws SqliteError
  // (SQLITE_MISUSE) for a statement that writes while writes are refused.
  Query query(const std::string& sql);
  // While on, query() refuses statements that write: a guard for calls that promise to read.
  void refuse_writes(bool refused) { writes_refused_ = refused; }
  std::int64_t last_insert_rowid() const;
  // Defines the deterministic SQL function `name(a, b)`, true or false of two texts (NULL when
  // either is NULL).
  using Predicate = bool (*)(std::string_view, std::string_view);
  void define_function(const char* name, int arguments, Predicate predicate);
  // Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;
  bool in_transaction() const;

 private:
  sqlite3* handle_ = nullptr;
  bool writes_refused_ = false;
  std::unordered_map<std::string, Prepared> statements_;
};

}  // namespace strata::sqlite
