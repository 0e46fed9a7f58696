// promtool's verdict on a metrics exposition, as a Prometheus server would judge a scrape (from
// Debian's prometheus package: a test that uses it lists promtool in its NEEDS).
#pragma once

#include <fstream>
#include <string>

#include "testkit/process.hpp"

namespace stepline::test {

/// `promtool check metrics` on `text`: its exit status and what it said.
inline Captured promtool_check(const std::string& text) {
  TempDir dir("stepline-promtool-");
  const auto file = dir.path() / "metrics.txt";
  std::ofstream(file) << text;
  return capture({"sh", "-c", "promtool check metrics < '" + file.string() + "'"});
}

}  // namespace stepline::test
