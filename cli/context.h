// What every command shares: the store URL and, once a command needs it, the open Store.
#pragma once

#include <optional>
#include <string>

#include "strata/store.h"

namespace strata::cli {

// Exit codes, one meaning each, the same for every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;                 // Usage errors and invalid arguments.
inline constexpr int kExitWrongExpectedVersion = 3;  // Also a failed key-value condition.
inline constexpr int kExitNotFound = 4;
inline constexpr int kExitStreamDeleted = 5;  // An append to a tombstoned stream.
// The database was migrated by a newer build that this one cannot use.
inline constexpr int kExitIncompatibleSchema = 6;

class Context {
 public:
  // The --db URL, else $STRATA_DB, else sqlite:strata.db.
  std::string url;

  // The store at `url`, opened (and migrated) on first use.
  Store& store();

 private:
  std::optional<Store> store_;
};

// The default store URL: $STRATA_DB when set, else sqlite:strata.db.
std::string default_store_url();

// Reads all of standard input (for a payload given neither as an argument nor a flag).
std::string read_stdin();

}  // namespace strata::cli
