// The SDK as a plug-in author gets it: installed with `./dev install PREFIX`, then the C++
// examples of README.md and docs/PLUGINS.md, taken from the documents themselves, built out of
// tree against it with the documents' own CMakeLists.txt, loaded by the catalog and run.
#include <doctest/doctest.h>

#include <fstream>
#include <optional>
#include <regex>
#include <set>

#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/host/process/child_process.hpp>

#include "catalog_fixture.hpp"
#include "testkit/process.hpp"

using namespace stepline;
using namespace stepline::testing;

namespace {

/// A fenced block of a Markdown document.
struct CodeBlock {
  std::string document;
  int line = 0;          ///< of the opening fence
  std::string section;   ///< the `## ` heading it is under
  std::string language;  ///< what follows the fence: cpp, cmake, ...
  std::string text;      ///< without the fences and the fence's indentation

  std::string where() const { return document + ":" + std::to_string(line); }
};

std::vector<CodeBlock> code_blocks(const fs::path& file) {
  std::ifstream in(file);
  REQUIRE_MESSAGE(in, "cannot read ", file.string());
  std::vector<CodeBlock> blocks;
  std::string section, line;
  std::optional<CodeBlock> open;
  std::size_t indent = 0;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto first = line.find_first_not_of(' ');
    const bool fence = first != std::string::npos && line.compare(first, 3, "```") == 0;
    if (open) {
      if (fence && first == indent) {
        blocks.push_back(std::move(*open));
        open.reset();
      } else {
        // The fence's indentation is taken off each line (blank ones have less).
        open->text +=
            line.substr(std::min({indent, line.size(), line.find_first_not_of(' ')})) + "\n";
      }
    } else if (fence) {
      indent = first;
      open = CodeBlock{file.filename().string(), number, section, line.substr(first + 3), ""};
    } else if (line.starts_with("## ")) {
      section = line.substr(3);
    }
  }
  REQUIRE_MESSAGE(!open, file.string(), ": a code block opened at line ", open->line,
                  " is never closed");
  return blocks;
}

/// The plug-in type names a source exports: the second argument of each STEPLINE_PLUGIN.
std::vector<std::string> exported_types(const std::string& source) {
  static const std::regex macro(R"(STEPLINE_PLUGIN\(\s*\w+\s*,\s*"([^"]+)\")");
  std::vector<std::string> names;
  for (std::sregex_iterator it(source.begin(), source.end(), macro), end; it != end; ++it)
    names.push_back((*it)[1]);
  return names;
}

/// The source file a CMakeLists.txt passes to stepline_add_plugin(... SOURCES <file>).
std::string plugin_source_of(const CodeBlock& cmake) {
  std::smatch match;
  REQUIRE_MESSAGE(
      std::regex_search(cmake.text, match,
                        std::regex(R"(stepline_add_plugin\(\s*(\w+)\s+SOURCES\s+([^\s)]+))")),
      cmake.where(), ": no stepline_add_plugin(<name> SOURCES <file>)");
  return match[2];
}

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

// Runs a command of the plug-in author's; its output is shown when it fails.
void run(const std::vector<std::string>& argv) {
  const auto child = host::process::run_child(argv, std::chrono::minutes(5));
  INFO(argv[0], " ", argv[1], " ", argv[2], "\n", child.out, child.err);
  REQUIRE(child.succeeded());
}

// Configures and builds a CMake project against the SDK under `prefix`.
void build(const fs::path& source, const fs::path& build, const fs::path& prefix) {
  run({CMAKE_COMMAND, "-S", source.string(), "-B", build.string(), "-G", CMAKE_GENERATOR,
       "-DCMAKE_MAKE_PROGRAM=" CMAKE_MAKE_PROGRAM, "-DCMAKE_PREFIX_PATH=" + prefix.string(),
       "-DCMAKE_CXX_FLAGS=" EXAMPLE_CXX_FLAGS});
  run({CMAKE_COMMAND, "--build", build.string()});
}

/// One document's examples: its plug-in sources and its CMakeLists.txt for a plug-in.
struct Examples {
  std::vector<CodeBlock> plugins;
  std::optional<CodeBlock> plugin_cmake;  ///< the block with stepline_add_plugin
  std::vector<CodeBlock> other_cmake;
};

// Every C++ block in `sections` (all when empty) must be a whole plug-in source, so that none
// is left out of the build.
Examples examples_of(const fs::path& document, const std::set<std::string>& sections) {
  Examples examples;
  for (auto& block : code_blocks(document)) {
    if (block.language == "cmake") {
      if (!examples.plugin_cmake && block.text.find("stepline_add_plugin(") != std::string::npos)
        examples.plugin_cmake = block;
      else
        examples.other_cmake.push_back(block);
      continue;
    }
    if (block.language != "cpp") continue;
    if (!sections.empty() && !sections.count(block.section)) continue;
    INFO(block.where(), " (", block.section, ")");
    CHECK_MESSAGE(!exported_types(block.text).empty(),
                  "a C++ example about plug-ins must be a whole plug-in (STEPLINE_PLUGIN)");
    examples.plugins.push_back(std::move(block));
  }
  REQUIRE_MESSAGE(!examples.plugins.empty(), document.string(), " has no plug-in example");
  REQUIRE_MESSAGE(examples.plugin_cmake, document.string(), " has no stepline_add_plugin block");
  return examples;
}

/// Services that record what a plug-in traces and posts; a post is answered with `reply`.
class RecordingServices : public Services {
 public:
  class Notification : public NotificationService {
   public:
    std::string post(std::string_view endpoint, const ExecutionContext& context) override {
      posts.emplace_back(endpoint, context);
      return reply;
    }
    std::string reply;
    std::vector<std::pair<std::string, ExecutionContext>> posts;
  };
  TracingService& tracing() override { return tracing_; }
  OrganizationService& organization() override { return organization_; }
  NotificationService& notification() override { return endpoints; }
  const std::vector<std::string>& traces() const { return tracing_.lines; }
  Notification endpoints;

 private:
  RecordingTracing tracing_;
  UnavailableOrganization organization_;
};

ExecutionContext create_of_account() {
  ExecutionContext context;
  context.message_name = "Create";
  context.primary_entity_name = "account";
  context.primary_entity_id = Guid::parse("6f1c1e3a-2b4d-4c5e-8f90-a1b2c3d4e5f6");
  context.input_parameters.emplace("Target", Value(Entity("account", context.primary_entity_id)));
  return context;
}

// A program that reads posted contexts through the `amqp` component: the binary format's round
// trip, printed.
constexpr const char* binary_reader = R"(#include <iostream>
#include <stepline/format/binary.hpp>
int main() {
  stepline::ExecutionContext context;
  context.message_name = "Create";
  context.primary_entity_name = "account";
  const std::string body = stepline::format::binary::write_context(context);
  const auto back = stepline::format::parse_any_format(body, "binary");
  std::cout << back.message_name << " " << back.primary_entity_name << "\n";
}
)";

}  // namespace

TEST_CASE("the documents' plug-ins build against the SDK ./dev install installs, and run") {
  TempFolder folder;
  const fs::path prefix = folder / "sdk";

  // The documented command, on this build tree.
  const fs::path install_log = folder / "install.log";
  const int installed = test::run({STEPLINE_SOURCE_DIR "/dev", "install", prefix.string()},
                                  {{"STEPLINE_BUILD_DIR", STEPLINE_BINARY_DIR}}, install_log);
  REQUIRE_MESSAGE(installed == 0, "./dev install failed:\n", test::tail(install_log));
  CHECK(fs::exists(prefix / "lib" / "cmake" / "Stepline" / "SteplineConfig.cmake"));
  CHECK(fs::exists(prefix / "lib" / "cmake" / "Stepline" / "SteplineAmqpTargets.cmake"));
  CHECK(fs::exists(prefix / "lib" / "cmake" / "Stepline" / "SteplineClaimCheckTargets.cmake"));
  CHECK(fs::exists(prefix / "include" / "stepline" / "claim_check" / "blob_reader.hpp"));
  CHECK(fs::exists(prefix / "include" / "stepline" / "plugin.hpp"));
  CHECK(fs::exists(prefix / "include" / "stepline" / "format" / "binary.hpp"));

  const Examples readme = examples_of(STEPLINE_SOURCE_DIR "/README.md",
                                      {"Writing a plug-in", "Writing an Azure-aware plug-in"});
  const Examples plugins_page = examples_of(STEPLINE_SOURCE_DIR "/docs/PLUGINS.md", {});

  // Each document's first plug-in with the document's CMakeLists.txt, word for word.
  const fs::path plugin_folder = folder / "plugins";
  fs::create_directories(plugin_folder);
  std::vector<CodeBlock> together;
  for (const Examples* doc : {&readme, &plugins_page}) {
    const CodeBlock& cmake = *doc->plugin_cmake;
    const fs::path project = folder / ("verbatim-" + cmake.document);
    write(project / "CMakeLists.txt", cmake.text);
    write(project / plugin_source_of(cmake), doc->plugins.front().text);
    INFO("built with ", cmake.where(), " and ", doc->plugins.front().where());
    build(project, project / "build", prefix);
    for (const auto& built : fs::directory_iterator(project / "build"))
      if (built.path().extension() == ".so")
        fs::copy_file(built.path(), plugin_folder / built.path().filename());
    together.insert(together.end(), doc->plugins.begin() + 1, doc->plugins.end());
  }

  // The other plug-ins in one project, with the binary-format reader and the PLUGINS.md CMake
  // lines that link it.
  const fs::path project = folder / "together";
  std::string cmake =
      "cmake_minimum_required(VERSION 3.25)\nproject(examples CXX)\n"
      "add_executable(listener listener.cpp)\n";
  for (const auto& block : plugins_page.other_cmake) {
    if (block.text.find("Stepline::sdk_amqp") != std::string::npos) cmake += block.text;
  }
  REQUIRE_MESSAGE(cmake.find("COMPONENTS amqp") != std::string::npos,
                  "docs/PLUGINS.md shows no CMake lines for the amqp component");
  for (std::size_t i = 0; i < together.size(); ++i) {
    const std::string name = "example_" + std::to_string(i + 1);
    write(project / (name + ".cpp"), together[i].text);
    cmake += "stepline_add_plugin(" + name + " SOURCES " + name + ".cpp OUTPUT_DIRECTORY " +
             plugin_folder.string() + ")  # " + together[i].where() + "\n";
  }
  write(project / "CMakeLists.txt", cmake);
  write(project / "listener.cpp", binary_reader);
  build(project, project / "build", prefix);
  const auto reader = host::process::run_child({(project / "build" / "listener").string()},
                                               std::chrono::seconds(30));
  CHECK_MESSAGE(reader.succeeded(), reader.err);
  CHECK(reader.out == "Create account\n");

  // Every type the documents declare is loaded from the plug-in folder.
  std::set<std::string> declared;
  for (const Examples* doc : {&readme, &plugins_page})
    for (const auto& block : doc->plugins)
      for (auto& name : exported_types(block.text)) declared.insert(name);
  std::shared_ptr<Plugin> hello;
  fs::path hello_file;
  {
    host::catalog::PluginCatalog catalog(settings_for(plugin_folder));
    for (const auto& library : catalog.libraries()) {
      INFO(library.file.string(), ": ", library.reason);
      CHECK(library.status == host::catalog::LibraryStatus::loaded);
    }
    const auto loaded = catalog.type_names();
    CHECK(std::set<std::string>(loaded.begin(), loaded.end()) == declared);
    REQUIRE(catalog.has_type("Samples.Hello"));
    hello = catalog.create("Samples.Hello", "", "");
    for (const auto& library : catalog.libraries())
      if (library.description && library.description->types.size() == 1 &&
          library.description->types[0].name == "Samples.Hello")
        hello_file = library.loaded_from;

    // The examples do what the documents say.
    ExecutionContext context = create_of_account();
    RecordingServices services;
    auto stamp = catalog.create("Contoso.StampAccount", "", "");
    auto report = catalog.create("Contoso.ReportStamp", "", "");
    stamp->execute(context, services);
    report->execute(context, services);
    CHECK(context.target()->get("source") == Value("import"));
    CHECK(services.traces() ==
          std::vector<std::string>{
              "account 6f1c1e3a-2b4d-4c5e-8f90-a1b2c3d4e5f6 stamped by Contoso.StampAccount"});

    auto publish = catalog.create("Samples.PublishAccountChange", "account-events", "");
    publish->execute(context, services);
    REQUIRE(services.endpoints.posts.size() == 1);
    CHECK(services.endpoints.posts[0].first == "account-events");
    CHECK(services.endpoints.posts[0].second.shared_variables.at("stepline.enriched_by") ==
          Value("Samples.PublishAccountChange 1.0.0"));

    auto credit = catalog.create("Samples.CheckCredit", "credit-check", "");
    services.endpoints.reply = "approved";
    CHECK_NOTHROW(credit->execute(context, services));
    services.endpoints.reply = "declined: over the limit";
    CHECK_THROWS_WITH_AS(credit->execute(context, services),
                         "The order was not placed: credit check declined: over the limit.",
                         InvalidPluginExecution);
  }
  REQUIRE_FALSE(hello_file.empty());
  ExecutionContext context = create_of_account();
  TestServices services;
  hello->execute(context, services);
  CHECK(services.traces() ==
        std::vector<std::string>{"Create of account 6f1c1e3a-2b4d-4c5e-8f90-a1b2c3d4e5f6"});

  // stepline_add_plugin applied -fno-gnu-unique and the version script: the library unloads.
  hello.reset();
  CHECK_FALSE(process_maps(hello_file));
}
