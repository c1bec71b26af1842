#include "strata/workflow.h"

#include "core/backend.h"
#include "core/session_runner.h"
#include "core/validate.h"

namespace strata {

using detail::Call;
using detail::Session;

WorkflowCheckpoint Workflows::save(std::string_view workflow, std::string_view state) const {
  detail::validate_workflow_name(workflow);
  detail::validate_json_state("workflow state", state);
  return detail::run_on_session(scope_, "workflow.save", Call::write, [&](Session& session) {
    return session.workflows().save(workflow, state);
  });
}

std::optional<WorkflowCheckpoint> Workflows::latest(std::string_view workflow) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.latest", Call::read, [&](Session& session) {
    return session.workflows().get(workflow, std::nullopt);
  });
}

std::optional<WorkflowCheckpoint> Workflows::get(std::string_view workflow,
                                                 std::int64_t version) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.get", Call::read, [&](Session& session) {
    return session.workflows().get(workflow, version);
  });
}

std::vector<WorkflowCheckpoint> Workflows::list(std::string_view workflow) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.list", Call::read, [&](Session& session) {
    return session.workflows().list(workflow);
  });
}

bool Workflows::erase(std::string_view workflow, std::int64_t version) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.erase", Call::write, [&](Session& session) {
           return session.workflows().erase(workflow, version);
         }) > 0;
}

std::size_t Workflows::erase_all(std::string_view workflow) const {
  detail::validate_workflow_name(workflow);
  return detail::run_on_session(scope_, "workflow.erase_all", Call::write, [&](Session& session) {
    return session.workflows().erase(workflow, std::nullopt);
  });
}

std::size_t Workflows::prune(std::string_view workflow, std::size_t keep) const {
  detail::validate_workflow_name(workflow);
  detail::validate_count("checkpoints to keep", keep);
  return detail::run_on_session(scope_, "workflow.prune", Call::write, [&](Session& session) {
    return session.workflows().prune(workflow, keep);
  });
}

}  // namespace strata
