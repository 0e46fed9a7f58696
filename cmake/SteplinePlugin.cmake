# stepline_add_plugin(<name> SOURCES <src>... [LIBRARIES <lib>...] [OUTPUT_DIRECTORY <dir>])
#
# Builds one plug-in library the way the host expects it: a MODULE linked against the SDK,
# hidden visibility and a version script (only the descriptor is exported), -fno-gnu-unique so
# that unloading really unloads, all symbols resolved at link time, and the same C++ standard as
# the host.
function(stepline_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "stepline_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE Stepline::sdk ${ARG_LIBRARIES})
  target_compile_features(${name} PRIVATE cxx_std_20)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_EXTENSIONS OFF
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${name} PRIVATE -fno-gnu-unique)
  endif()
  # Hidden visibility still lets the linker export inline template code and the type table's
  # bounds; the version script leaves exactly the descriptor (the one symbol the host reads).
  set(version_script ${CMAKE_BINARY_DIR}/stepline_plugin.map)
  file(CONFIGURE OUTPUT ${version_script} CONTENT "{ global: stepline_descriptor_v1; local: *; };\n")
  target_link_options(${name} PRIVATE -Wl,--exclude-libs,ALL -Wl,--no-undefined
    -Wl,-z,start-stop-visibility=hidden -Wl,--version-script=${version_script})
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${version_script})
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  elseif(DEFINED STEPLINE_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${STEPLINE_PLUGIN_OUTPUT_DIRECTORY}")
  endif()
endfunction()
