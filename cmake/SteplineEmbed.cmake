# Writes a C++ source that holds text files as string constants: `cmake -DOUTPUT=out.cpp
# -DHEADER=decl.hpp -DNAMESPACE=ns -DFILES=a.html|b.js -P SteplineEmbed.cmake`. Each file
# becomes `const std::string_view <name>_<extension>` (jobs.html -> jobs_html) in NAMESPACE,
# declared by HEADER. Used for the System Jobs page, which ships without a front-end tool chain.
string(REPLACE "|" ";" FILES "${FILES}")
set(text "// Generated from the files below by cmake/SteplineEmbed.cmake; do not edit.\n")
string(APPEND text "#include \"${HEADER}\"\n\nnamespace ${NAMESPACE} {\n")
foreach(file ${FILES})
  get_filename_component(name ${file} NAME)
  string(REPLACE "." "_" symbol ${name})
  string(REPLACE "-" "_" symbol ${symbol})
  file(READ ${file} content)
  string(FIND "${content}" ")embedded\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${file} contains the raw-string delimiter )embedded\"")
  endif()
  string(APPEND text "\n// ${file}\nconst std::string_view ${symbol} = R\"embedded(${content})embedded\";\n")
endforeach()
string(APPEND text "\n}  // namespace ${NAMESPACE}\n")
file(WRITE ${OUTPUT}.new "${text}")
file(COPY_FILE ${OUTPUT}.new ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.new)
