// The keys only webhook endpoints have (url, auth as a mapping, signature) and the claim_check
// block of size_policy: claim-check, read from an endpoint's mapping with every problem at its
// file:line:col. Secrets are resolved from ${env:}/${file:} and never echoed.
#pragma once

#include <filesystem>

#include <stepline/registration/model.hpp>
#include <stepline/yaml/mapping.hpp>

namespace stepline::registration::detail {

/// Reads url, auth and signature of a `contract: webhook` endpoint into `endpoint.webhook`.
void read_webhook(yaml::Mapping& m, const std::filesystem::path& folder, ServiceEndpoint& endpoint,
                  yaml::Problems& problems);

/// Reads `claim_check:` into `endpoint.claim_check`, and checks that it and size_policy agree.
void read_claim_check(yaml::Mapping& m, const std::filesystem::path& folder,
                      ServiceEndpoint& endpoint, yaml::Problems& problems);

/// Header names a webhook's auth may not set: the ones Stepline writes itself.
bool is_reserved_webhook_header(std::string_view name);

}  // namespace stepline::registration::detail
