#include "sqlite/db.h"

namespace strata::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* handle, int result) {
  const int extended = handle != nullptr ? sqlite3_extended_errcode(handle) : result;
  const char* message = handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(result);
  throw SqliteError(extended, message);
}

}  // namespace

Query::~Query() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

void Query::check(int result) const {
  if (result != SQLITE_OK) fail(sqlite3_db_handle(statement_), result);
}

Query& Query::bind(int index, std::string_view text) {
  check(sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                            SQLITE_UTF8));
  return *this;
}

Query& Query::bind(int index, std::int64_t value) {
  check(sqlite3_bind_int64(statement_, index, value));
  return *this;
}

Query& Query::bind_optional(int index, const std::optional<std::string_view>& text) {
  return text ? bind(index, *text) : bind_null(index);
}

Query& Query::bind_blob(int index, std::string_view bytes) {
  // A zero-length blob needs a non-null pointer, or SQLite binds NULL.
  static const char kEmpty = 0;
  check(sqlite3_bind_blob64(statement_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                            SQLITE_TRANSIENT));
  return *this;
}

Query& Query::bind_null(int index) {
  check(sqlite3_bind_null(statement_, index));
  return *this;
}

bool Query::step() {
  const int result = sqlite3_step(statement_);
  if (result == SQLITE_ROW) return true;
  if (result == SQLITE_DONE) return false;
  fail(sqlite3_db_handle(statement_), result);
}

void Query::run() {
  while (step()) {
  }
}

void Query::reset() {
  sqlite3_reset(statement_);
}

int Query::column(std::string_view name) const {
  for (std::size_t column = 0; column < columns_->size(); ++column) {
    if (name == (*columns_)[column]) return static_cast<int>(column);
  }
  throw SqliteError(SQLITE_MISUSE, "the statement returns no column named '" + std::string(name) +
                                       "': " + sqlite3_sql(statement_));
}

bool Query::is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

std::int64_t Query::integer(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string Query::text(int column) const {
  const auto* bytes = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
  const int size = sqlite3_column_bytes(statement_, column);
  return bytes == nullptr ? std::string() : std::string(bytes, static_cast<std::size_t>(size));
}

std::string Query::blob(int column) const {
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(statement_, column));
  const int size = sqlite3_column_bytes(statement_, column);
  return bytes == nullptr ? std::string() : std::string(bytes, static_cast<std::size_t>(size));
}

std::optional<std::string> Query::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

Database::Database(const std::string& path, bool create) {
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int result = sqlite3_open_v2(path.c_str(), &handle_, flags, nullptr);
  if (result != SQLITE_OK) {
    std::string message = handle_ != nullptr ? sqlite3_errmsg(handle_) : "out of memory";
    if (!create && result == SQLITE_CANTOPEN) message += " (it does not exist)";
    sqlite3_close_v2(handle_);
    throw SqliteError(result, "cannot open '" + path + "': " + message);
  }
  sqlite3_extended_result_codes(handle_, 1);
}

Database::~Database() {
  statements_.clear();
  sqlite3_close_v2(handle_);
}

void Database::exec(const std::string& sql) {
  const int result = sqlite3_exec(handle_, sql.c_str(), nullptr, nullptr, nullptr);
  if (result != SQLITE_OK) fail(handle_, result);
}

Query Database::query(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    sqlite3_stmt* statement = nullptr;
    const int result = sqlite3_prepare_v3(handle_, sql.c_str(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (result != SQLITE_OK) fail(handle_, result);
    Prepared prepared{std::unique_ptr<sqlite3_stmt, Prepared::Finalize>(statement), {}};
    for (int column = 0; column < sqlite3_column_count(statement); ++column) {
      prepared.columns.emplace_back(sqlite3_column_name(statement, column));
    }
    found = statements_.emplace(sql, std::move(prepared)).first;
  }
  if (writes_refused_ && sqlite3_stmt_readonly(found->second.statement.get()) == 0) {
    throw SqliteError(SQLITE_MISUSE, "a statement that writes, while writes are refused: " + sql);
  }
  return Query(found->second);
}

std::int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(handle_);
}

void Database::define_function(const char* name, int arguments, Predicate predicate) {
  auto call = [](sqlite3_context* context, int count, sqlite3_value** values) {
    auto* function = reinterpret_cast<Predicate>(sqlite3_user_data(context));
    std::string_view texts[2];
    for (int i = 0; i < count && i < 2; ++i) {
      if (sqlite3_value_type(values[i]) == SQLITE_NULL) {
        sqlite3_result_null(context);
        return;
      }
      const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(values[i]));
      texts[i] = std::string_view(text, static_cast<std::size_t>(sqlite3_value_bytes(values[i])));
    }
    sqlite3_result_int(context, function(texts[0], texts[1]) ? 1 : 0);
  };
  const int result = sqlite3_create_function_v2(
      handle_, name, arguments, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
      reinterpret_cast<void*>(predicate), call, nullptr, nullptr, nullptr);
  if (result != SQLITE_OK) fail(handle_, result);
}

std::int64_t Database::changes() const {
  return sqlite3_changes64(handle_);
}

bool Database::in_transaction() const {
  return sqlite3_get_autocommit(handle_) == 0;
}

}  // namespace strata::sqlite
