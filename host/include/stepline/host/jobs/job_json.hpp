// A system job as one JSON object, the form `stepline jobs --json` prints and the jobs API
// (/stepline/v1/jobs) answers with: camelCase fields, times in ISO-8601, the frozen context as
// an object when asked for (docs/JOBS.md).
#pragma once

#include <string>

#include <stepline/host/store/record_store.hpp>

namespace stepline::host::jobs {

/// `context_json`, when given, is written as the job's "context" (with "contextSize", the size
/// of the stored one): the stored context itself, or a copy with secrets masked. A job whose
/// stored context could not be read (SystemJob::context_problem()) gets null instead, with what
/// is wrong as "contextProblem".
std::string job_json(const store::SystemJob& job, const std::string* context_json = nullptr);

}  // namespace stepline::host::jobs
