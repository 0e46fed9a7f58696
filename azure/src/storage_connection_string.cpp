#include "stepline/azure/storage_connection_string.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <stepline/text.hpp>

namespace stepline::azure {
namespace {

// The keys the Azure Storage SDKs read (case-sensitive). Queue, Table and File endpoints are
// accepted, so that a whole string pasted from the portal works, and ignored.
constexpr std::array<std::string_view, 10> storage_keys = {"DefaultEndpointsProtocol",
                                                           "AccountName",
                                                           "AccountKey",
                                                           "EndpointSuffix",
                                                           "BlobEndpoint",
                                                           "QueueEndpoint",
                                                           "TableEndpoint",
                                                           "FileEndpoint",
                                                           "SharedAccessSignature",
                                                           "UseDevelopmentStorage"};

bool is_secret_key(std::string_view key) {
  return key == "AccountKey" || key == "SharedAccessSignature" ||
         std::find(storage_keys.begin(), storage_keys.end(), key) == storage_keys.end();
}

bool same_but_case(std::string_view a, std::string_view b) {
  return text::iequals(a, b);
}

bool is_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return false;
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0 || !(std::isalnum(c) || c == '+' || c == '/')) return false;
  }
  return padding <= 2;
}

bool is_http_url(std::string_view url) {
  for (std::string_view scheme : {"https://", "http://"})
    if (url.starts_with(scheme) && url.size() > scheme.size() && url[scheme.size()] != '/')
      return true;
  return false;
}

const std::string cs = "the storage connection string";

// Every problem, worded for an operator; `out` is filled as far as the parts allow.
std::vector<std::string> examine(std::string_view text, StorageConnectionString& out) {
  auto parts = split_connection_string(text);
  if (!parts)
    return {cs +
            " is malformed: every part must be Key=Value, parts separated by ';' "
            "(DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;"
            "EndpointSuffix=core.windows.net)"};
  std::vector<std::string> problems;
  std::vector<std::string_view> seen;
  std::string protocol = "https", suffix = "core.windows.net", development;
  for (const auto& [key, value] : *parts) {
    auto known = std::find(storage_keys.begin(), storage_keys.end(), key);
    if (known == storage_keys.end()) {
      auto hint = std::find_if(storage_keys.begin(), storage_keys.end(),
                               [&key = key](std::string_view k) { return same_but_case(k, key); });
      problems.push_back(cs + " has an unknown key '" + key + "'" +
                         (hint == storage_keys.end()
                              ? "; known keys are DefaultEndpointsProtocol, AccountName, "
                                "AccountKey, EndpointSuffix, BlobEndpoint, SharedAccessSignature "
                                "and UseDevelopmentStorage"
                              : "; keys are case-sensitive: write " + std::string(*hint)));
      continue;
    }
    if (std::find(seen.begin(), seen.end(), *known) != seen.end()) {
      problems.push_back(cs + " names " + key + " twice; keep one");
      continue;
    }
    seen.push_back(*known);
    if (value.empty()) {
      problems.push_back(cs + "'s " + key + " is empty; give it a value");
      continue;
    }
    if (key == "DefaultEndpointsProtocol") {
      protocol = value;
      if (value != "https" && value != "http")
        problems.push_back(cs + "'s DefaultEndpointsProtocol must be https or http");
    } else if (key == "AccountName") {
      out.account_name = value;
    } else if (key == "AccountKey") {
      out.account_key = value;
      if (!is_base64(value))
        problems.push_back(cs +
                           "'s AccountKey is not base64; copy key1 or key2 from the "
                           "storage account's Access keys page");
    } else if (key == "EndpointSuffix") {
      suffix = value;
    } else if (key == "BlobEndpoint") {
      out.blob_endpoint = value;
      while (out.blob_endpoint.ends_with('/')) out.blob_endpoint.pop_back();
      if (!is_http_url(out.blob_endpoint))
        problems.push_back(cs + "'s BlobEndpoint must be an https:// (or http://) URL");
    } else if (key == "SharedAccessSignature") {
      out.shared_access_signature = value.front() == '?' ? value.substr(1) : value;
      if (out.shared_access_signature.find("sig=") == std::string::npos)
        problems.push_back(cs +
                           "'s SharedAccessSignature has no sig=; paste the whole SAS "
                           "query string (sv=...&sig=...)");
    } else if (key == "UseDevelopmentStorage") {
      development = value;
      if (value != "true")
        problems.push_back(cs + "'s UseDevelopmentStorage must be true, or be left out");
    }
  }
  if (development == "true") {
    if (parts->size() > 1)
      problems.push_back(cs +
                         ": UseDevelopmentStorage=true stands alone (it means Azurite's "
                         "devstoreaccount1 on 127.0.0.1:10000); for another port give "
                         "AccountName, AccountKey and BlobEndpoint instead");
    out.account_name = development_storage_account;
    out.account_key = development_storage_key;
    out.blob_endpoint = "http://127.0.0.1:10000/" + std::string(development_storage_account);
    return problems;
  }
  if (out.has_key() && out.has_signature())
    problems.push_back(cs +
                       " has both AccountKey and SharedAccessSignature; keep one way of "
                       "authenticating");
  else if (!out.has_key() && !out.has_signature())
    problems.push_back(cs +
                       " has no credential; add AccountKey (Access keys page) or "
                       "SharedAccessSignature (a SAS with the rights the use needs)");
  if (out.has_key() && out.account_name.empty())
    problems.push_back(cs + " has AccountKey without AccountName; add the account's name");
  if (out.blob_endpoint.empty()) {
    if (out.account_name.empty())
      problems.push_back(cs + " names no account; add AccountName or BlobEndpoint");
    else
      out.blob_endpoint = protocol + "://" + out.account_name + ".blob." + suffix;
  }
  return problems;
}

}  // namespace

StorageConnectionString StorageConnectionString::parse(std::string_view text) {
  StorageConnectionString out;
  auto problems = examine(text, out);
  if (!problems.empty()) throw ConnectionStringError(problems.front());
  return out;
}

std::string StorageConnectionString::str() const {
  std::string out = "BlobEndpoint=" + blob_endpoint;
  if (!account_name.empty()) out += ";AccountName=" + account_name;
  if (has_key()) out += ";AccountKey=***";
  if (has_signature()) out += ";SharedAccessSignature=***";
  return out;
}

std::vector<std::string> check_storage_connection_string(std::string_view text) {
  StorageConnectionString ignored;
  return examine(text, ignored);
}

std::string mask_storage_connection_string(std::string_view text) {
  auto parts = split_connection_string(text);
  if (!parts) return "***";
  std::string out;
  for (const auto& [key, value] : *parts)
    out += key + "=" + (is_secret_key(key) ? std::string("***") : value) + ";";
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace stepline::azure
