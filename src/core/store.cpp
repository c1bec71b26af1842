#include "strata/store.h"

#include "core/backend.h"
#include "core/url.h"
#include "sqlite/sqlite_backend.h"
#include "strata/version.h"
#if STRATA_HAS_POSTGRES
#include "postgres/pg_backend.h"
#endif

namespace strata {
namespace {

std::shared_ptr<detail::Backend> open_backend(const detail::StoreSettings& settings) {
  if (const auto* sqlite = std::get_if<detail::SqliteSettings>(&settings)) {
    return detail::open_sqlite_backend(*sqlite);
  }
  const auto& postgres = std::get<detail::PostgresSettings>(settings);
#if STRATA_HAS_POSTGRES
  return detail::open_postgres_backend(postgres);
#else
  throw Error(ErrorCode::invalid_argument,
              "'" + postgres.redacted +
                  "' is a PostgreSQL URL, and this build of Strata has no PostgreSQL (it was "
                  "built with STRATA_WITH_POSTGRES=OFF)");
#endif
}

}  // namespace

Store Store::open(std::string_view url, const OpenOptions& options) {
  detail::StoreSettings settings = detail::parse_store_url(url);
  if (auto* sqlite = std::get_if<detail::SqliteSettings>(&settings)) {
    sqlite->create = !options.must_exist || sqlite->in_memory;
  }
  Store store(open_backend(settings));
  if (options.migrate) store.migrate();
  return store;
}

Store::Store(std::shared_ptr<detail::Backend> backend) : backend_(std::move(backend)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

void Store::run_transaction(const std::function<void(Transaction&)>& body) const {
  backend_->run_transaction([&](detail::Session& session) {
    Transaction transaction(detail::Scope{backend_, &session});
    body(transaction);
  });
}

void Store::migrate() const {
  const detail::SchemaState state = backend_->schema_state();
  detail::check_compatible(state);
  // A newer schema that this build can use: nothing of this build's is missing.
  if (state.version < detail::kSchemaVersion || state.restored_behind) backend_->migrate();
}

int Store::schema_version() const {
  return backend_->schema_state().version;
}

std::string_view Store::backend_name() const {
  return backend_->name();
}

}  // namespace strata
