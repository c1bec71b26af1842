// What a backend does for workflow checkpoints: numbered states of one workflow.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "strata/workflow.h"

namespace strata::detail {

class WorkflowOps {
 public:
  virtual ~WorkflowOps() = default;
  // Stores `state` as the workflow's next version.
  virtual WorkflowCheckpoint save(std::string_view workflow, std::string_view state) = 0;
  // The checkpoint at `version`, or the latest when absent.
  virtual std::optional<WorkflowCheckpoint> get(std::string_view workflow,
                                                std::optional<std::int64_t> version) = 0;
  virtual std::vector<WorkflowCheckpoint> list(std::string_view workflow) = 0;
  // Deletes one version, or every version when absent; returns how many.
  virtual std::size_t erase(std::string_view workflow, std::optional<std::int64_t> version) = 0;
  // Deletes all but the newest `keep` versions; returns how many.
  virtual std::size_t prune(std::string_view workflow, std::size_t keep) = 0;
};

}  // namespace strata::detail
