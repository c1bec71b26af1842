// What every room of a SQLite connection shares: the connection, whether a transaction is open,
// what a call did that others should hear of, and how to write atomically.
#pragma once

#include <string>
#include <vector>

#include "core/statement.h"
#include "sqlite/db.h"

namespace strata::detail {

class SqliteContext {
 public:
  explicit SqliteContext(sqlite::Database& database) : db(database) {}
  SqliteContext(const SqliteContext&) = delete;
  SqliteContext& operator=(const SqliteContext&) = delete;

  sqlite::Database& db;
  // Set by the backend for each call: whether it runs inside the caller's transaction.
  bool in_transaction = false;
  // Set by appends and produces: waiters are woken once the call's transaction commits.
  bool appended = false;
  bool produced = false;

  // A use of `statement`, its text joined once per connection.
  sqlite::Query query(const Statement& statement) {
    return db.query(texts_.of(statement, [](std::string text) { return text; }));
  }

 private:
  StatementTexts texts_;
};

// An FTS5 query of `words`: each a quoted string; side by side they must all match.
inline std::string fts_match(const std::vector<std::string>& words) {
  std::string match;
  for (const std::string& word : words) {
    if (!match.empty()) match += ' ';
    match += '"';
    for (const char c : word) match += c == '"' ? std::string("\"\"") : std::string(1, c);
    match += '"';
  }
  return match;
}

// Whether `error` is a unique or primary key violation.
inline bool is_unique_violation(const sqlite::SqliteError& error) {
  return error.extended_code() == SQLITE_CONSTRAINT_UNIQUE ||
         error.extended_code() == SQLITE_CONSTRAINT_PRIMARYKEY;
}

// A transaction of its own (BEGIN IMMEDIATE), or a savepoint inside the caller's. Rolls back
// unless committed.
class AtomicScope {
 public:
  AtomicScope(sqlite::Database& db, bool nested) : db_(db), nested_(nested) {
    db_.exec(nested_ ? "SAVEPOINT strata_atomic" : "BEGIN IMMEDIATE");
  }
  // Nested when the context's call runs inside the caller's transaction.
  explicit AtomicScope(SqliteContext& context) : AtomicScope(context.db, context.in_transaction) {}
  AtomicScope(const AtomicScope&) = delete;
  AtomicScope& operator=(const AtomicScope&) = delete;
  ~AtomicScope() {
    if (open_) rollback();
  }
  void commit() {
    db_.exec(nested_ ? "RELEASE strata_atomic" : "COMMIT");
    open_ = false;
  }
  void rollback() noexcept {
    open_ = false;
    try {
      db_.exec(nested_ ? "ROLLBACK TO strata_atomic; RELEASE strata_atomic" : "ROLLBACK");
    } catch (const sqlite::SqliteError&) {
      // Nothing more to undo: SQLite already rolled the transaction back.
    }
  }

 private:
  sqlite::Database& db_;
  bool nested_;
  bool open_ = true;
};

}  // namespace strata::detail
