#include "strata/snapshot.h"

#include "core/backend.h"
#include "core/session_runner.h"
#include "core/validate.h"

namespace strata {
namespace {

void validate_snapshot(std::int64_t version, std::string_view state) {
  if (version < 1) {
    throw Error(ErrorCode::invalid_argument,
                "snapshot version " + std::to_string(version) + " must be at least 1");
  }
  detail::validate_json_state("snapshot state", state);
}

detail::PruneRule prune_rule(const SnapshotRetention& retention) {
  if (retention.max_age) {
    detail::validate_duration("snapshot max_age", *retention.max_age, std::chrono::milliseconds(0));
  }
  if (retention.keep_last) detail::validate_count("snapshots to keep", *retention.keep_last);
  detail::PruneRule rule;
  if (retention.keep_last) rule.keep_last = static_cast<std::int64_t>(*retention.keep_last);
  if (retention.max_age) rule.max_age_ms = retention.max_age->count();
  return rule;
}

}  // namespace

using detail::Call;
using detail::Session;

Snapshot Snapshots::save(std::string_view stream, std::int64_t version,
                         std::string_view state) const {
  detail::validate_stream_name(stream);
  validate_snapshot(version, state);
  return detail::run_on_session(scope_, "snapshot.save", Call::write, [&](Session& session) {
    return session.snapshots().save(stream, version, state);
  });
}

std::optional<Snapshot> Snapshots::load(std::string_view stream,
                                        std::optional<std::int64_t> version) const {
  detail::validate_stream_name(stream);
  return detail::run_on_session(scope_, "snapshot.load", Call::read, [&](Session& session) {
    return session.snapshots().load(stream, version.value_or(INT64_MAX));
  });
}

std::vector<Snapshot> Snapshots::list(std::string_view stream) const {
  detail::validate_stream_name(stream);
  return detail::run_on_session(scope_, "snapshot.list", Call::read,
                                [&](Session& session) { return session.snapshots().list(stream); });
}

std::size_t Snapshots::prune(std::string_view stream, const SnapshotRetention& retention) const {
  detail::validate_stream_name(stream);
  const detail::PruneRule rule = prune_rule(retention);
  return detail::run_on_session(scope_, "snapshot.prune", Call::write, [&](Session& session) {
    return session.snapshots().prune(stream, rule);
  });
}

std::size_t Snapshots::prune_all(const SnapshotRetention& retention) const {
  const detail::PruneRule rule = prune_rule(retention);
  return detail::run_on_session(scope_, "snapshot.prune_all", Call::write, [&](Session& session) {
    return session.snapshots().prune(std::nullopt, rule);
  });
}

}  // namespace strata
