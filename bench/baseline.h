// The raw limit of a database, for `strata bench`: the same rows into a table of the same shape as
// Strata's events table, by the fastest plain means (COPY or prepared INSERTs), with no Strata
// logic at all. Benchmarks quote Strata's figures as ratios to these, measured in the same run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace strata::bench {

// A query of `strata bench query` in its bare form: the same rows, from the store's own events
// table by the same index, without Strata's checks (the horizon, retention).
struct BareQuery {
  enum class Kind {
    type_page,      // key: a type; after a position.
    category_page,  // key: a category; after a position.
    stream,         // key: a stream.
    stream_count,   // key: a stream.
    stream_names,   // key: a prefix; after a name.
    words_page,     // key: words (lower case, by spaces), with the text index; after a position.
    metadata_page,  // key: JSON the metadata contains (PostgreSQL, with the metadata index).
  };
  Kind kind = Kind::type_page;
  std::string key;
  std::string after_name;          // stream_names: the names after this one (of the prefix).
  std::uint64_t after_commit = 0;  // The pages of events: after this position.
  std::uint64_t after_sequence = 0;
  std::size_t limit = 100;
};

// A connection writing to and reading from the baseline table. Used by one thread.
class BaselineConnection {
 public:
  virtual ~BaselineConnection() = default;
  // Writes `count` rows of `stream` (versions from `first_version`, new ids, `data`) in one
  // transaction (PostgreSQL: COPY; SQLite: a prepared INSERT loop).
  virtual void write_batch(const std::string& stream, std::int64_t first_version, std::size_t count,
                           const std::string& data) = 0;
  // Writes one row in a transaction of its own (a prepared INSERT per commit).
  virtual void write_single(const std::string& stream, std::int64_t version,
                            const std::string& data) = 0;
  // Reads up to `limit` rows after position `after` in position order; returns how many and
  // moves `after` to the last one read.
  virtual std::size_t read_page(std::int64_t& after, std::size_t limit) = 0;

  // Updates the planner's statistics of the store's events table, as autovacuum (PostgreSQL)
  // or PRAGMA optimize (SQLite) would some time after a bulk load.
  virtual void analyze() = 0;
  // Runs `query` on the store's events table; returns how many rows it read.
  virtual std::size_t bare_query(const BareQuery& query) = 0;

  // Key-value rows, in namespace "bench" of a table shaped like the kv table.
  // Reads one key's value with a prepared SELECT; returns whether it was there.
  virtual bool kv_get(const std::string& key) = 0;
  // Writes `keys`, each with `value` at version 1, in one transaction (PostgreSQL: COPY; SQLite:
  // a prepared INSERT loop).
  virtual void kv_write_batch(const std::vector<std::string>& keys, const std::string& value) = 0;
  // Sets a key's value and next version if it is at `version`, in a transaction of its own (a
  // prepared UPDATE per commit); returns whether it was.
  virtual bool kv_update_at_version(const std::string& key, std::int64_t version,
                                    const std::string& value) = 0;

  // Queue rows, in queue "bench" of a table shaped like the queue items table.
  // Inserts `count` items with `payload` in one transaction (COPY, or an INSERT loop).
  virtual void queue_produce(std::size_t count, const std::string& payload) = 0;
  // Claims up to `count` items (FOR UPDATE SKIP LOCKED on PostgreSQL) and commits, then deletes
  // them and commits: a worker's lease and completion, as plain SQL. Returns how many.
  virtual std::size_t queue_claim_and_delete(std::size_t count) = 0;

  // Begins a transaction that takes a transaction id and leaves it open until the connection
  // is destroyed, as another application's session left idle in transaction would. PostgreSQL
  // only: on SQLite such a transaction would stop every writer, so it throws
  // strata::Error(invalid_argument).
  virtual void hold_writing_transaction() = 0;
};

// A scratch database beside the one at `url` (a new SQLite file next to it, or a new schema on
// the same server) holding the store under test and the baseline table. Everything it made is
// dropped when it is destroyed.
class Baseline {
 public:
  // Throws strata::Error(invalid_argument) for an in-memory database: its rows could not be
  // shared between the store and the baseline's own connections.
  static std::unique_ptr<Baseline> create(const std::string& url);
  virtual ~Baseline() = default;

  // Where to open the Store under test.
  virtual const std::string& store_url() const = 0;
  // Creates the baseline tables, shaped like the events and kv tables: call once the store is
  // migrated.
  virtual void create_table() = 0;
  virtual std::unique_ptr<BaselineConnection> connect() = 0;
};

}  // namespace strata::bench
