/* The C handshake between the host and a plug-in library. Everything here is plain C so that
 * the host can read a library's descriptor before trusting any C++ in it. */
#ifndef STEPLINE_PLUGIN_ABI_H
#define STEPLINE_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#define STEPLINE_ABI_MAJOR 1u
#define STEPLINE_ABI_MINOR 0u

/* Name of the exported descriptor object; the suffix is the ABI major. */
#define STEPLINE_DESCRIPTOR_SYMBOL "stepline_descriptor_v1"
/* Section holding one pointer per plug-in type; its presence marks a Stepline plug-in. */
#define STEPLINE_TYPES_SECTION "slptypes"

#ifdef __cplusplus
extern "C" {
#endif

/* One plug-in type (one class exported with STEPLINE_PLUGIN). */
typedef struct stepline_plugin_type {
  uint32_t struct_size;
  const char* name;    /* unique across all loaded libraries, e.g. "Contoso.ValidateAccount" */
  const char* version; /* e.g. "1.2.0" */
  /* Creates an instance (a stepline::Plugin*). On failure returns NULL and writes a message. */
  void* (*create)(const char* unsecure_config, const char* secure_config, char* error,
                  size_t error_size);
  void (*destroy)(void* plugin);
} stepline_plugin_type;

typedef struct stepline_descriptor {
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t struct_size;
  const char* sdk_version;
  /* Compiler and version, standard library, -std and Boost version the library was built with. */
  const char* fingerprint;
  const stepline_plugin_type* const* types_begin;
  const stepline_plugin_type* const* types_end;
  void* reserved[8];
} stepline_descriptor;

#ifdef __cplusplus
}
#endif

#endif
