# Defines the imported target Proton::cpp (Qpid Proton C++) when it can be found, for the build
# and for the installed package's `amqp` component. Proton ships no CMake package and bookworm's
# libqpid-proton-cpp.pc is broken, so the header and library are looked for directly.
if(NOT TARGET Proton::cpp)
  find_package(ProtonCpp CONFIG QUIET)
endif()
if(NOT TARGET Proton::cpp)
  find_path(PROTON_CPP_INCLUDE_DIR proton/container.hpp)
  find_library(PROTON_CPP_LIBRARY qpid-proton-cpp)
  # Code that calls the C API (pn_*) links the core too; Debian ships it without a dev symlink.
  find_library(PROTON_CORE_LIBRARY NAMES qpid-proton-core libqpid-proton-core.so.10)
  if(PROTON_CPP_INCLUDE_DIR AND PROTON_CPP_LIBRARY)
    add_library(Proton::cpp UNKNOWN IMPORTED)
    set_target_properties(Proton::cpp PROPERTIES
      IMPORTED_LOCATION "${PROTON_CPP_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${PROTON_CPP_INCLUDE_DIR}")
    if(PROTON_CORE_LIBRARY)
      set_property(TARGET Proton::cpp APPEND PROPERTY INTERFACE_LINK_LIBRARIES "${PROTON_CORE_LIBRARY}")
    endif()
  endif()
endif()
