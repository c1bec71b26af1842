#include "strata/workflow.h"

#include "core/backend.h"
#include "core/session_runner.h"
#include "core/validate.h"

namespace strata {

WorkflowCheckpoint Workflows::save(std::string_view workflow, std::string_view state) const {
  detail::validate_workflow_name(workflow);
  detail::validate_json_state("workflow state", state);
  return detail::run_on_session(
      scope_, "workflow.save",
      [&](detail::Session& session) { return session.workflow_save(workflow, state); },
      detail::Idempotence::not_idempotent);
}

std::optional<WorkflowCheckpoint> Workflows::latest(std::string_view workflow) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.latest", [&](detail::Session& session) {
    return session.workflow_get(workflow, std::nullopt);
  });
}

std::optional<WorkflowCheckpoint> Workflows::get(std::string_view workflow,
                                                 std::int64_t version) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.get", [&](detail::Session& session) {
    return session.workflow_get(workflow, version);
  });
}

std::vector<WorkflowCheckpoint> Workflows::list(std::string_view workflow) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.list", [&](detail::Session& session) {
    return session.workflow_list(workflow);
  });
}

bool Workflows::erase(std::string_view workflow, std::int64_t version) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.erase", [&](detail::Session& session) {
           return session.workflow_delete(workflow, version);
         }) > 0;
}

std::size_t Workflows::erase_all(std::string_view workflow) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.erase_all", [&](detail::Session& session) {
    return session.workflow_delete(workflow, std::nullopt);
  });
}

std::size_t Workflows::prune(std::string_view workflow, std::size_t keep) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.prune", [&](detail::Session& session) {
    return session.workflow_prune(workflow, keep);
  });
}

}  // namespace strata
