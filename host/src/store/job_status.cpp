#include <stepline/host/store/job_status.hpp>

#include <array>

namespace stepline::host::store {
namespace {

struct Row {
  JobStatus status;
  StatusCodes codes;
  std::string_view name;
};

constexpr std::array<Row, 8> rows = {{
    {JobStatus::ready, {0, 0}, "ready"},
    {JobStatus::waiting, {1, 10}, "waiting"},
    {JobStatus::in_progress, {2, 20}, "in-progress"},
    {JobStatus::pausing, {2, 21}, "pausing"},
    {JobStatus::canceling, {2, 22}, "canceling"},
    {JobStatus::succeeded, {3, 30}, "succeeded"},
    {JobStatus::failed, {3, 31}, "failed"},
    {JobStatus::canceled, {3, 32}, "canceled"},
}};

}  // namespace

StatusCodes codes_of(JobStatus status) noexcept {
  return rows[static_cast<std::size_t>(status)].codes;
}

std::optional<JobStatus> status_of(int state_code, int status_code) noexcept {
  for (const auto& r : rows)
    if (r.codes.state_code == state_code && r.codes.status_code == status_code) return r.status;
  return std::nullopt;
}

std::optional<JobStatus> status_of(const SystemJob& job) noexcept {
  return status_of(job.state_code, job.status_code);
}

std::string_view to_string(JobStatus status) noexcept {
  return rows[static_cast<std::size_t>(status)].name;
}

std::optional<JobStatus> parse_status(std::string_view text) noexcept {
  for (const auto& r : rows)
    if (r.name == text) return r.status;
  return std::nullopt;
}

}  // namespace stepline::host::store
