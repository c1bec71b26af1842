// Workflows: numbered checkpoints of a workflow's state (JSON), kept until pruned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/event.h"
#include "strata/export.h"
#include "strata/scope.h"

namespace strata {

inline constexpr std::size_t kMaxWorkflowNameBytes = 256;

struct WorkflowCheckpoint {
  std::string workflow;
  std::int64_t version = 0;  // 1, 2, 3… per workflow.
  std::string state;         // JSON text, byte for byte as saved.
  Timestamp created_at = 0;

  friend bool operator==(const WorkflowCheckpoint&, const WorkflowCheckpoint&) = default;
};

// A handle on workflow checkpoints, from Store::workflows() or Transaction::workflows(); calls
// behave as Events' do (their own unit of work, or the transaction's). Workflow names are
// 1..kMaxWorkflowNameBytes of UTF-8 without control characters; states are valid JSON.
class STRATA_EXPORT Workflows {
 public:
  // Saves `state` as the workflow's next version (1 for the first) and returns it.
  WorkflowCheckpoint save(std::string_view workflow, std::string_view state) const;
  // The newest checkpoint, or nullopt when there is none.
  std::optional<WorkflowCheckpoint> latest(std::string_view workflow) const;
  std::optional<WorkflowCheckpoint> get(std::string_view workflow, std::int64_t version) const;
  // Every checkpoint of the workflow, oldest first.
  std::vector<WorkflowCheckpoint> list(std::string_view workflow) const;
  // Deletes one version; returns whether it existed.
  bool erase(std::string_view workflow, std::int64_t version) const;
  // Deletes every version; returns how many.
  std::size_t erase_all(std::string_view workflow) const;
  // Keeps only the newest `keep` versions; returns how many were deleted. Numbering goes on from
  // the newest version kept (from 1 again once none is left).
  std::size_t prune(std::string_view workflow, std::size_t keep) const;

 private:
  friend class Store;
  friend class Transaction;
  explicit Workflows(detail::Scope scope) : scope_(std::move(scope)) {}
  detail::Scope scope_;
};

}  // namespace strata
