/*
 * Compile-time guard on the v1 layout for LP64 targets: if an edit to plugin.h moves a field or
 * changes a size, this file stops compiling. Released plugins depend on these exact offsets, and the
 * Rust bindings (plugins/kits/rust/layeron_plugin.rs) mirror them and assert the same sizes.
 */
#include <stddef.h>
#include "layeron/plugin.h"

#if defined(__LP64__)
_Static_assert(sizeof(layeron_bytes) == 16, "layeron_bytes layout is frozen");
_Static_assert(sizeof(layeron_header) == 32, "layeron_header layout is frozen");
_Static_assert(sizeof(layeron_handler) == 32, "layeron_handler layout is frozen");

_Static_assert(offsetof(layeron_event, abi_version) == 4, "layeron_event layout is frozen");
_Static_assert(offsetof(layeron_event, attempt) == 12, "layeron_event layout is frozen");
_Static_assert(offsetof(layeron_event, id) == 16, "layeron_event layout is frozen");
_Static_assert(offsetof(layeron_event, handler) == 96, "layeron_event layout is frozen");
_Static_assert(offsetof(layeron_event, headers) == 112, "layeron_event layout is frozen");
_Static_assert(offsetof(layeron_event, body) == 128, "layeron_event layout is frozen");
_Static_assert(offsetof(layeron_event, received_at_ms) == 144, "layeron_event layout is frozen");
_Static_assert(sizeof(layeron_event) == 216, "layeron_event layout is frozen");

_Static_assert(offsetof(layeron_host, log) == 16, "layeron_host layout is frozen");
_Static_assert(offsetof(layeron_host, emit) == 64, "layeron_host layout is frozen");
_Static_assert(sizeof(layeron_host) == 136, "layeron_host layout is frozen");

_Static_assert(offsetof(layeron_plugin_descriptor, flags) == 32, "descriptor layout is frozen");
_Static_assert(offsetof(layeron_plugin_descriptor, handlers) == 40, "descriptor layout is frozen");
_Static_assert(offsetof(layeron_plugin_descriptor, init) == 48, "descriptor layout is frozen");
_Static_assert(offsetof(layeron_plugin_descriptor, shutdown) == 56, "descriptor layout is frozen");
_Static_assert(sizeof(layeron_plugin_descriptor) == 128, "descriptor layout is frozen");
#endif
