// The System Jobs page: a static HTML page with plain JavaScript and CSS (host/src/http/
// jobs_page/), compiled into the host by cmake/SteplineEmbed.cmake and served under /jobs.
#pragma once

#include <string_view>

namespace stepline::host::http {

extern const std::string_view jobs_html;
extern const std::string_view jobs_js;
extern const std::string_view jobs_css;

}  // namespace stepline::host::http
