// Events::verify: the same walk over every backend's stored events, a page at a time.
#include "core/backend.h"
#include "core/ids.h"
#include "core/session_runner.h"
#include "strata/events.h"

namespace strata {
namespace {

using detail::StoredEvent;

constexpr std::size_t kPage = 1000;

// Walks one stream after another in version order, remembering the last event seen, and counts
// and reports the problems it finds.
class StreamWalk {
 public:
  StreamWalk(const std::function<void(const EventProblem&)>& report, VerifySummary& summary)
      : report_(report), summary_(summary) {}

  void see(const StoredEvent& stored) {
    const RecordedEvent& event = stored.event;
    ++summary_.events;
    if (event.stream != stream_) {
      stream_ = event.stream;
      ++summary_.streams;
      last_version_.reset();
    }
    check_version(stored);
    check_checksum(stored);
    last_version_ = event.version;
    last_position_ = event.position;
  }

  void problem(EventProblem::Kind kind, const RecordedEvent& event, std::string message) {
    ++summary_.problems;
    report_(EventProblem{kind, event.stream, event.version, std::move(message)});
  }

 private:
  void check_version(const StoredEvent& stored) {
    const RecordedEvent& event = stored.event;
    if (last_version_ && event.position <= last_position_) {
      problem(EventProblem::Kind::position_order, event,
              "position " + event.position.to_string() + " is not after version " +
                  std::to_string(*last_version_) + "'s " + last_position_.to_string());
    }
    // A truncation while the walk runs may move the first version kept past the last seen.
    const std::int64_t expected =
        std::max(last_version_ ? *last_version_ + 1 : std::int64_t{1}, stored.first_kept);
    if (event.version > expected) {
      problem(EventProblem::Kind::missing_versions, event,
              "versions " + std::to_string(expected) + " to " + std::to_string(event.version - 1) +
                  " are missing");
    } else if (last_version_ && event.version <= *last_version_) {
      problem(EventProblem::Kind::version_order, event,
              "version " + std::to_string(event.version) + " is stored more than once");
    }
  }

  void check_checksum(const StoredEvent& stored) {
    const RecordedEvent& event = stored.event;
    if (!stored.checksum) {
      ++summary_.without_checksum;
      return;
    }
    const auto metadata =
        event.metadata ? std::optional<std::string_view>(*event.metadata) : std::nullopt;
    const std::uint32_t content =
        detail::event_checksum(event.id, event.type, event.data, metadata);
    if (content != static_cast<std::uint32_t>(*stored.checksum)) {
      problem(EventProblem::Kind::checksum_mismatch, event,
              "content has checksum " + std::to_string(content) + ", not the " +
                  std::to_string(*stored.checksum) + " taken at its append");
    }
  }

  const std::function<void(const EventProblem&)>& report_;
  VerifySummary& summary_;
  std::string stream_;
  std::optional<std::int64_t> last_version_;
  Position last_position_;
};

}  // namespace

std::string_view to_string(EventProblem::Kind kind) {
  switch (kind) {
    case EventProblem::Kind::missing_versions:
      return "missing_versions";
    case EventProblem::Kind::version_order:
      return "version_order";
    case EventProblem::Kind::position_order:
      return "position_order";
    case EventProblem::Kind::duplicate_id:
      return "duplicate_id";
    case EventProblem::Kind::checksum_mismatch:
      return "checksum_mismatch";
  }
  return "unknown";
}

VerifySummary Events::verify(const std::function<void(const EventProblem&)>& report) const {
  VerifySummary summary;
  StreamWalk walk(report, summary);
  std::string after_stream;
  std::int64_t after_version = 0;
  while (true) {
    const auto page = detail::run_on_session(
        scope_, "events.verify", detail::Call::read, [&](detail::Session& session) {
          return session.events().stored_events(after_stream, after_version, kPage);
        });
    for (const StoredEvent& stored : page) walk.see(stored);
    if (page.size() < kPage) break;
    after_stream = page.back().event.stream;
    after_version = page.back().event.version;
  }
  const auto shared = detail::run_on_session(
      scope_, "events.verify", detail::Call::read,
      [&](detail::Session& session) { return session.events().events_sharing_ids(); });
  for (const RecordedEvent& event : shared) {
    walk.problem(EventProblem::Kind::duplicate_id, event,
                 "id " + event.id + " is stored more than once");
  }
  return summary;
}

}  // namespace strata
