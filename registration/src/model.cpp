#include <stepline/registration/model.hpp>

#include <algorithm>

namespace stepline::registration {

std::string SourceLocation::str() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const Step* Registration::find_step(std::string_view name) const {
  auto it = std::find_if(steps.begin(), steps.end(), [&](const Step& s) { return s.name == name; });
  return it == steps.end() ? nullptr : &*it;
}

const ServiceEndpoint* Registration::find_endpoint(std::string_view name) const {
  auto it = std::find_if(endpoints.begin(), endpoints.end(), [&](const ServiceEndpoint& e) { return e.name == name; });
  return it == endpoints.end() ? nullptr : &*it;
}

}  // namespace stepline::registration
