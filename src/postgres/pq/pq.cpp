#include "postgres/pq/pq.h"

#include <poll.h>

#include <algorithm>
#include <charconv>

namespace strata::pq {
namespace {

bool succeeded(ExecStatusType status) {
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

// libpq's text on one line: its lines (a connection error has one per address tried, each with
// a tab-indented hint) trimmed and joined with "; ".
std::string one_line(const char* message) {
  std::string text;
  std::string_view rest = message != nullptr ? message : "";
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty()) continue;
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text;
}

// A server's error as one line: its message, then its detail and hint when it gives them,
// without the severity and the statement excerpt that PQresultErrorMessage adds.
std::string server_message(const PGresult* result) {
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  if (primary == nullptr) return one_line(PQresultErrorMessage(result));
  std::string text = one_line(primary);
  if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) {
    text += " (" + one_line(detail) + ")";
  }
  if (const char* hint = PQresultErrorField(result, PG_DIAG_MESSAGE_HINT)) {
    text += "; hint: " + one_line(hint);
  }
  return text;
}

}  // namespace

int Result::column(std::string_view name) const {
  for (int column = 0; column < PQnfields(result_.get()); ++column) {
    if (name == PQfname(result_.get(), column)) return column;
  }
  throw PqError("the statement returns no column named '" + std::string(name) + "'", "", false);
}

std::string_view Result::text(int row, int column) const {
  return std::string_view(PQgetvalue(result_.get(), row, column),
                          static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::optional<std::string> Result::optional_string(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return string(row, column);
}

std::int64_t Result::integer(int row, int column) const {
  const std::string_view value = text(row, column);
  std::int64_t number = 0;
  std::from_chars(value.data(), value.data() + value.size(), number);
  return number;
}

std::uint64_t Result::unsigned_integer(int row, int column) const {
  const std::string_view value = text(row, column);
  std::uint64_t number = 0;
  std::from_chars(value.data(), value.data() + value.size(), number);
  return number;
}

Params& Params::add(std::string_view text) {
  values_.emplace_back(text);
  nulls_.push_back(false);
  return *this;
}

Params& Params::add_null() {
  values_.emplace_back();
  nulls_.push_back(true);
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> pointers(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) {
    pointers[i] = nulls_[i] ? nullptr : values_[i].c_str();
  }
  return pointers;
}

std::vector<int> Params::lengths() const {
  std::vector<int> lengths(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) lengths[i] = static_cast<int>(values_[i].size());
  return lengths;
}

void append_array_element(std::string& out, const std::optional<std::string_view>& text) {
  if (!text) {
    out += "NULL";
    return;
  }
  out += '"';
  for (const char c : *text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

std::string quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

std::string bytea_literal(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string literal = "\\x";
  literal.reserve(2 + bytes.size() * 2);
  for (const char c : bytes) {
    literal += kHex[static_cast<unsigned char>(c) >> 4];
    literal += kHex[static_cast<unsigned char>(c) & 0xF];
  }
  return literal;
}

std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
  }
  return bytes;
}

void append_copy_field(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
}

void append_copy_nullable(std::string& out, const std::optional<std::string_view>& text) {
  if (text) {
    append_copy_field(out, *text);
  } else {
    out += "\\N";
  }
}

Connection::Connection(const std::vector<const char*>& keywords,
                       const std::vector<const char*>& values, bool prepare)
    : prepare_(prepare) {
  connection_ = PQconnectdbParams(keywords.data(), values.data(), 1);
  if (connection_ == nullptr) throw PqError("out of memory", "", true);
  if (PQstatus(connection_) != CONNECTION_OK) {
    std::string message = one_line(PQerrorMessage(connection_));
    PQfinish(connection_);
    throw PqError(std::move(message), "", true);
  }
  // A library must not write to stderr: NOTICEs (e.g. "already exists, skipping") are dropped.
  PQsetNoticeProcessor(
      connection_, [](void*, const char*) {}, nullptr);
}

Connection::~Connection() {
  PQfinish(connection_);
}

void Connection::fail(const PGresult* result) const {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message =
      result != nullptr ? server_message(result) : one_line(PQerrorMessage(connection_));
  throw PqError(std::move(message), state != nullptr ? state : "", is_broken());
}

void Connection::roll_back() noexcept {
  if (is_broken() || transaction_status() == PQTRANS_IDLE) return;
  try {
    exec("ROLLBACK");
  } catch (const PqError&) {
    // Broken now.
  }
}

Result Connection::exec(const std::string& sql) {
  Result result(PQexec(connection_, sql.c_str()));
  if (!succeeded(result.status())) fail(result.raw());
  return result;
}

Result Connection::query(const std::string& sql, const Params& params) {
  const Command command{sql, params};
  return std::move(pipeline(std::span(&command, 1)).front());
}

void Connection::send(const Command& command, std::vector<PendingPrepare>& prepares) {
  const auto values = command.params.pointers();
  const auto lengths = command.params.lengths();
  if (!prepare_) {
    if (PQsendQueryParams(connection_, command.sql.c_str(), command.params.size(), nullptr,
                          values.data(), lengths.data(), nullptr, 0) == 0) {
      fail(nullptr);
    }
    return;
  }
  auto found = prepared_.find(command.sql);
  std::string name;
  if (found != prepared_.end()) {
    name = found->second;
  } else {
    name = "strata_" + std::to_string(++statements_named_);
    if (PQsendPrepare(connection_, name.c_str(), command.sql.c_str(), command.params.size(),
                      nullptr) == 0) {
      fail(nullptr);
    }
    prepares.push_back(PendingPrepare{&command.sql, name});
  }
  if (PQsendQueryPrepared(connection_, name.c_str(), command.params.size(), values.data(),
                          lengths.data(), nullptr, 0) == 0) {
    fail(nullptr);
  }
}

Result Connection::take_result() {
  PGresult* raw = PQgetResult(connection_);
  if (raw == nullptr) fail(nullptr);
  Result result(raw);
  PGresult* end = PQgetResult(connection_);  // Each command's results end with a null.
  if (end != nullptr) {
    PQclear(end);
    throw PqError("unexpected extra result from the server", "", is_broken());
  }
  return result;
}

std::vector<Result> Connection::pipeline(std::span<const Command> commands) {
  if (PQenterPipelineMode(connection_) == 0) fail(nullptr);
  std::vector<PendingPrepare> prepares;
  std::vector<bool> prepared_here;
  try {
    for (const Command& command : commands) {
      const std::size_t before = prepares.size();
      send(command, prepares);
      prepared_here.push_back(prepares.size() > before);
    }
    if (PQpipelineSync(connection_) == 0 || PQflush(connection_) != 0) fail(nullptr);
  } catch (const PqError&) {
    PQexitPipelineMode(connection_);
    throw;
  }

  std::vector<Result> results;
  results.reserve(commands.size());
  std::optional<PqError> first_error;
  auto note = [&](const Result& result) {
    const auto status = result.status();
    if (succeeded(status) || status == PGRES_PIPELINE_ABORTED || first_error) return;
    const char* state = PQresultErrorField(result.raw(), PG_DIAG_SQLSTATE);
    first_error.emplace(server_message(result.raw()), state ? state : "", is_broken());
  };
  std::size_t next_prepare = 0;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (prepared_here[i]) {
      Result prepare = take_result();
      note(prepare);
      const PendingPrepare& pending = prepares[next_prepare++];
      if (prepare.status() == PGRES_COMMAND_OK) prepared_.emplace(*pending.sql, pending.name);
    }
    results.push_back(take_result());
    note(results.back());
  }
  Result sync(PQgetResult(connection_));
  if (sync.status() != PGRES_PIPELINE_SYNC) fail(sync.raw());
  PQexitPipelineMode(connection_);
  if (first_error) throw *first_error;
  return results;
}

std::vector<std::string> Connection::wait_for_notifications(std::chrono::milliseconds timeout) {
  pollfd socket{PQsocket(connection_), POLLIN, 0};
  if (socket.fd < 0) fail(nullptr);
  std::vector<std::string> channels;
  if (poll(&socket, 1, static_cast<int>(timeout.count())) < 0) return channels;
  if (PQconsumeInput(connection_) == 0) fail(nullptr);
  while (PGnotify* notification = PQnotifies(connection_)) {
    channels.emplace_back(notification->relname);
    PQfreemem(notification);
  }
  return channels;
}

void Connection::copy_in(const std::string& copy_sql, std::string_view rows) {
  Result start(PQexec(connection_, copy_sql.c_str()));
  if (start.status() != PGRES_COPY_IN) fail(start.raw());
  constexpr std::size_t kChunk = 1 << 20;
  for (std::size_t offset = 0; offset < rows.size(); offset += kChunk) {
    const std::size_t size = std::min(kChunk, rows.size() - offset);
    if (PQputCopyData(connection_, rows.data() + offset, static_cast<int>(size)) != 1) {
      fail(nullptr);
    }
  }
  if (PQputCopyEnd(connection_, nullptr) != 1) fail(nullptr);
  Result end = take_result();
  if (end.status() != PGRES_COMMAND_OK) fail(end.raw());
}

}  // namespace strata::pq
