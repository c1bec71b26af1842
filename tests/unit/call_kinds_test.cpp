// Every call declares whether it writes, and SQLite holds a reading call to its word: a
// statement that would write is refused (so a write declared as a read cannot slip by).
#include <gtest/gtest.h>

#include "core/backend.h"
#include "core/url.h"
#include "sqlite/sqlite_backend.h"
#include "support/backends.h"

namespace strata::testing {
namespace {

TEST(CallKinds, ASqliteReadingCallThatWritesIsRefusedAndWritesNothing) {
  const std::string url = fresh_database_url(BackendKind::sqlite_file);
  {
    const auto backend =
        detail::open_sqlite_backend(std::get<detail::SqliteSettings>(detail::parse_store_url(url)));
    backend->migrate();
    detail::KvWrite write;
    write.key = "theme";
    write.value = "dark";
    try {
      backend->run(detail::Access::read,
                   [&](detail::Session& session) { session.kv().put("prefs", write); });
      ADD_FAILURE() << "a reading call wrote";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::internal);
      EXPECT_NE(std::string(error.what()).find("writes are refused"), std::string::npos)
          << error.what();
    }
    std::optional<KvEntry> stored;
    backend->run(detail::Access::read,
                 [&](detail::Session& session) { stored = session.kv().get("prefs", "theme"); });
    EXPECT_FALSE(stored.has_value());
    // The same connection writes again in a writing call.
    backend->run(detail::Access::write,
                 [&](detail::Session& session) { session.kv().put("prefs", write); });
    backend->run(detail::Access::read,
                 [&](detail::Session& session) { stored = session.kv().get("prefs", "theme"); });
    EXPECT_TRUE(stored.has_value());
  }
  drop_database(BackendKind::sqlite_file, url);
}

}  // namespace
}  // namespace strata::testing
