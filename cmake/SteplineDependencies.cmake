# Finds the Debian bookworm packages the host, broker and tests build against and gives each a
# namespaced target. ./dev setup installs them.
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(CURL REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(doctest REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(RapidJSON CONFIG REQUIRED)
find_package(pugixml REQUIRED)
find_package(benchmark QUIET)
# libyaml reads and writes YAML (yaml/): an event parser, so a large registration is read item by
# item.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LibYAML REQUIRED IMPORTED_TARGET GLOBAL yaml-0.1)
# xxHash checks the records of the context log (host/src/store/context_log.cpp), inlined from
# its header.
pkg_check_modules(xxHash REQUIRED IMPORTED_TARGET GLOBAL libxxhash)
# libpq, for the PostgreSQL store (docs/SCALING.md). Optional: without it the host keeps its
# SQLite store only, and `host.store: {postgresql: …}` says how to get it.
find_package(PostgreSQL QUIET)
if(TARGET PostgreSQL::PostgreSQL)
  message(STATUS "PostgreSQL store: libpq ${PostgreSQL_VERSION_STRING}")
else()
  message(STATUS "PostgreSQL store: off (libpq not found; ./dev setup --postgresql installs it)")
endif()

if(NOT TARGET RapidJSON::RapidJSON)
  add_library(RapidJSON::RapidJSON INTERFACE IMPORTED)
  set_target_properties(RapidJSON::RapidJSON PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${RapidJSON_INCLUDE_DIRS}")
endif()

include(SteplineProton)
if(NOT TARGET Proton::cpp)
  message(FATAL_ERROR "Qpid Proton C++ not found: ./dev setup installs libqpid-proton-cpp12-dev")
endif()

# Boost.DLL header-only on std::filesystem, defined everywhere so no TU mixes the two.
add_library(stepline_boost INTERFACE)
target_link_libraries(stepline_boost INTERFACE Boost::headers ${CMAKE_DL_LIBS})
target_compile_definitions(stepline_boost INTERFACE BOOST_DLL_USE_STD_FS)
