// Store URLs: parsed once here, for every backend.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace strata::detail {

struct SqliteSettings {
  std::string path;  // ":memory:" for an in-memory database.
  bool in_memory = false;
  int max_connections = 4;
  std::chrono::milliseconds busy_timeout{5000};
  bool synchronous_full = true;  // FULL (durable on power loss) or NORMAL.
  bool create = true;            // Create the file when it is missing.
};

struct PostgresSettings {
  std::string libpq_url;  // The URL with Strata's parameters removed, for libpq.
  std::string redacted;   // The URL with any password replaced, for messages.
  int max_connections = 10;
  int min_connections = 0;
  std::chrono::milliseconds acquire_timeout{5000};
  std::optional<std::chrono::milliseconds> statement_timeout;
  std::string schema = "strata";
  // Off: every statement goes unnamed (parsed each time), as PgBouncer's transaction mode needs.
  bool prepared_statements = true;
  // On: the store vacuums the queue table itself once enough items have gone through it,
  // since autovacuum wakes at most once a minute by default and dead rows at the head of a
  // queue slow every lease.
  bool queue_vacuum = true;
};

using StoreSettings = std::variant<SqliteSettings, PostgresSettings>;

// Parses a store URL. Throws Error(invalid_argument) naming a malformed URL, an unknown scheme,
// or an unknown or invalid parameter; never includes a password.
StoreSettings parse_store_url(std::string_view url);

// `url` with the password (userinfo or `password` parameter) replaced by "***".
std::string redact_url(std::string_view url);

// `message` with every occurrence of the password in `url` (as written or decoded) replaced by
// "***": for passing on messages from libraries that might echo it.
std::string scrub_password(std::string message, std::string_view url);

// Parses "250ms", "5s", "2m" or a bare number of milliseconds; nullopt for anything else,
// including a duration beyond kMaxDuration.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace strata::detail
