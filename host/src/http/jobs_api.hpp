// The System Jobs API under /stepline/v1/jobs, which the /jobs page and scripts use: jobs newest
// first with filters and paging, one job with its retry schedule and its context (secrets
// masked), and the operator's actions (retry, cancel, resume, postpone).
#pragma once

#include <string>
#include <string_view>

#include <stepline/host/store/job_store.hpp>
#include <stepline/http/message.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::http {

/// Answers a request whose path starts with /stepline/v1/jobs.
::stepline::http::Response jobs_api(const ::stepline::http::Request& request,
                                    store::JobStore& store,
                                    const registration::Registration& registration);

/// The context's JSON with the values of secret-looking names (password, secret, token, key
/// names, connection strings, credentials) and the keys inside connection strings replaced by
/// "***".
std::string mask_secrets(std::string_view context_json);

}  // namespace stepline::host::http
