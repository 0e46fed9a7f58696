// Records, parameters and errors in the JSON the Dataverse Web API speaks: plain properties for
// columns, `name@odata.bind` for lookups, `_name_value` when a lookup is returned, and
// {"error":{"code":"0x…","message":"…"}} for every failure.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <stepline/entity.hpp>

#include "tables.hpp"

namespace stepline::host::http {

/// Dataverse's error codes that the intake answers with (hex, as the Web API writes them).
namespace web_code {
inline constexpr std::string_view bad_payload = "0x80048d19";       ///< unreadable JSON body
inline constexpr std::string_view no_segment = "0x8006088a";        ///< unknown set or action
inline constexpr std::string_view invalid_argument = "0x80040203";  ///< a request it cannot take
inline constexpr std::string_view privilege = "0x80040220";         ///< impersonation refused
inline constexpr std::string_view unauthenticated = "0x80040200";   ///< no or wrong API key
inline constexpr std::string_view concurrency = "0x80072326";       ///< too many at once
inline constexpr std::string_view unexpected = "0x80040216";        ///< the host failed
}  // namespace web_code

/// A request the Web API refuses: its HTTP status, Dataverse error code and message.
class WebApiError : public std::runtime_error {
 public:
  WebApiError(int status, std::string_view code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(code) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }

 private:
  int status_;
  std::string code_;
};

/// "0x80040265" for -2147220891.
std::string hex_code(std::int32_t code);
/// {"error":{"code":"…","message":"…"}}
std::string error_body(std::string_view code, std::string_view message);

/// A Create or Update body: the record of `table`, its columns read by the types `tables`
/// declares, lookups from `column@odata.bind` ("/accounts(id)"), the id from `<table>id`.
/// Throws WebApiError (400) naming the property.
Entity read_record(std::string_view json, const std::string& table, const Tables& tables);
/// A custom message's body: each property an input parameter (plain JSON, or Stepline's
/// {"@type":…} form for what JSON cannot tell). Throws WebApiError (400).
ParameterCollection read_parameters(std::string_view json);

/// A $filter's conditions as the Query entity of a RetrieveMultiple on `table`: `column eq
/// value` joined by `and`, each value ('text', a number, true, false, null or a guid) read as a
/// Create's body would read it into the column. Throws WebApiError (400) naming the place.
Entity read_filter(std::string_view filter, const std::string& table, const Tables& tables);
/// A page of records as the Web API lists them: `@odata.context`, `value` and, when there is a
/// next page, `@odata.nextLink`.
std::string write_records(const EntityCollection& records, const std::string& context_url,
                          const std::string& next_link, const Tables& tables, bool annotations);

/// A record as the Web API returns it, with `@odata.context`. `annotations` adds the lookup
/// tables and formatted values (Prefer: odata.include-annotations).
std::string write_record(const Entity& record, const std::string& context_url, const Tables& tables,
                         bool annotations);
/// A custom message's output parameters, with `@odata.context`.
std::string write_outputs(const ParameterCollection& outputs, const std::string& context_url,
                          const Tables& tables);

}  // namespace stepline::host::http
