// A thin RAII layer over libpq: connection, result, parameters, pipelines and COPY.
// Knows nothing of events or stores.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace strata::pq {

// A failed libpq call or statement. `sqlstate` is empty when the server sent none (e.g. the
// connection broke); `connection_lost` tells whether the connection is unusable now.
class PqError : public std::runtime_error {
 public:
  PqError(std::string message, std::string sqlstate, bool connection_lost)
      : std::runtime_error(std::move(message)),
        sqlstate_(std::move(sqlstate)),
        connection_lost_(connection_lost) {}
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  bool connection_lost() const noexcept { return connection_lost_; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

// Owns one PGresult. Values are read in text format, from columns found by name (column()), so
// that a column added to a statement or moved in it cannot shift what a reader reads.
class Result {
 public:
  Result() = default;
  explicit Result(PGresult* result) : result_(result, &PQclear) {}

  int rows() const { return PQntuples(result_.get()); }
  // The number of the column named `name` (lower case, as PostgreSQL folds unquoted names).
  // Throws PqError naming it when the statement returns no such column.
  int column(std::string_view name) const;
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string_view text(int row, int column) const;
  std::string string(int row, int column) const { return std::string(text(row, column)); }
  std::optional<std::string> optional_string(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  std::uint64_t unsigned_integer(int row, int column) const;
  ExecStatusType status() const { return PQresultStatus(result_.get()); }
  const PGresult* raw() const { return result_.get(); }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_{nullptr, &PQclear};
};

// Text-format statement parameters, numbered $1, $2… in the order added.
class Params {
 public:
  Params& add(std::string_view text);
  Params& add(std::int64_t value) { return add(std::string_view(std::to_string(value))); }
  Params& add_null();
  // The value, or NULL when absent.
  Params& add_nullable(const std::optional<std::string_view>& text) {
    return text ? add(*text) : add_null();
  }
  Params& add_nullable(const std::optional<std::int64_t>& value) {
    return value ? add(*value) : add_null();
  }

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into this object, valid until it changes.
  std::vector<const char*> pointers() const;
  std::vector<int> lengths() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
};

// One statement of a pipeline.
struct Command {
  const std::string& sql;
  const Params& params;
};

// Quotes `text` as an element of a text-format array literal.
void append_array_element(std::string& out, const std::optional<std::string_view>& text);
// A text-format array literal ("{a,b}") of `items`, each appended to the text by `write(out,
// item)` (append_array_element for text that may need quoting).
template <class Items, class Write>
std::string array_literal(const Items& items, Write&& write) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    write(out, item);
  }
  return out += '}';
}
// `name` as a quoted SQL identifier ("name", with inner quotes doubled).
std::string quote_identifier(std::string_view name);
// `bytes` as a bytea literal in hex form ("\\x6162").
std::string bytea_literal(std::string_view bytes);
// The bytes written in hex by encode(…, 'hex').
std::string from_hex(std::string_view hex);

// Appends `text` escaped for COPY's text format.
void append_copy_field(std::string& out, std::string_view text);
// Appends `text` escaped for COPY's text format, or \N (NULL) when absent.
void append_copy_nullable(std::string& out, const std::optional<std::string_view>& text);

// One connection. Statements with parameters are prepared once per connection and reused.
// Used by one thread at a time.
class Connection {
 public:
  // Connects using `keywords`/`values` (libpq's PQconnectdbParams, expand_dbname on).
  // With `prepare` off, statements are sent unnamed instead of prepared once and reused (for
  // poolers such as PgBouncer in transaction mode). Throws PqError naming the failure.
  Connection(const std::vector<const char*>& keywords, const std::vector<const char*>& values,
             bool prepare = true);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one or more statements by the simple protocol; returns the last result.
  Result exec(const std::string& sql);
  // Runs one statement with parameters.
  Result query(const std::string& sql, const Params& params);
  // Runs the commands in one round trip, in one implicit transaction unless inside BEGIN.
  // Throws the first error after draining the pipeline; later commands are then skipped.
  std::vector<Result> pipeline(std::span<const Command> commands);
  // Streams `rows` (COPY text format) through `copy_sql` (a COPY … FROM STDIN).
  void copy_in(const std::string& copy_sql, std::string_view rows);

  // Waits up to `timeout` for NOTIFY messages (after LISTEN); returns the channel of each.
  // Throws PqError when the connection breaks.
  std::vector<std::string> wait_for_notifications(std::chrono::milliseconds timeout);

  // Rolls back the transaction open on this connection, if any. Never throws: a failure leaves
  // the connection broken, for its owner to drop.
  void roll_back() noexcept;

  bool is_broken() const { return PQstatus(connection_) != CONNECTION_OK; }
  PGTransactionStatusType transaction_status() const { return PQtransactionStatus(connection_); }

 private:
  struct PendingPrepare {
    const std::string* sql;
    std::string name;
  };
  // Throws the error of `result`, or of the connection when `result` is null.
  [[noreturn]] void fail(const PGresult* result) const;
  // Sends `command` as a prepared statement, preparing it first if this connection has not.
  void send(const Command& command, std::vector<PendingPrepare>& prepares);
  // The result of the next command, consuming the null that ends it.
  Result take_result();

  PGconn* connection_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text → statement name.
  std::uint64_t statements_named_ = 0;
  bool prepare_ = true;
};

}  // namespace strata::pq
