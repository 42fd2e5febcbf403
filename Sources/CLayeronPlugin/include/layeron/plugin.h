/*
 * Layeron Webhooks plugin ABI, version 1. Reference: docs/plugin-abi.md.
 *
 * This header is the whole contract between the Layeron host and a handler plugin. A plugin is a
 * shared library that exports one symbol, `layeron_plugin_entry`, and is written in any language that
 * can export a C function. Once released, version 1 of this header never changes incompatibly:
 *
 *   - Every struct that one side hands to the other starts with `struct_size` and `abi_version`.
 *     A side that reads a struct checks `struct_size` before touching a field that a later minor
 *     version appended; fields are only ever appended, never reordered, resized or removed.
 *   - The small value types that sit in arrays (`layeron_bytes`, `layeron_header`, `layeron_handler`)
 *     are frozen: their size is their array stride, so they never grow. Growth goes into the structs
 *     that carry a size, or into reserved fields.
 *   - Reserved fields are zero/NULL today, and a side must write them as zero. A later version may give
 *     them a meaning where zero keeps the v1 behaviour. The host refuses a plugin whose descriptor or
 *     handlers leave one non-zero, so garbage there cannot change meaning later.
 *   - Unknown flag bits are ignored by the reader.
 *   - A breaking change would be ABI version 2 with a new entry symbol; a v2 host would keep loading v1
 *     plugins through this one.
 *
 * Memory: nothing is ever freed across the boundary, so host and plugin may use different allocators
 * (or languages with no malloc at all).
 *   - What the host passes (events, headers, config JSON, result handles) is borrowed for the duration
 *     of the call that received it; copy what must outlive the call.
 *   - What the plugin hands to a host function (log lines, result messages, response bodies, emitted
 *     payloads) is copied by the host before that function returns; the plugin may free or reuse it
 *     right after.
 *   - The descriptor, the handler array and the strings they point to belong to the plugin and must
 *     stay valid and unchanged until the library is unloaded (static storage is the usual choice).
 *   - The instance belongs to the plugin: `init` makes it, `shutdown` destroys it.
 *   - The host table belongs to the host and stays valid from `layeron_plugin_entry` until `shutdown`
 *     returns (or, when `init` fails, until `init` returns).
 *
 * Strings are UTF-8 and are passed as pointer + length (`layeron_bytes`); they are not NUL-terminated
 * unless stated. Bodies may contain NUL bytes. The few NUL-terminated strings are the plugin's own
 * static names in the descriptor.
 *
 * Threading (per loaded version of a plugin):
 *   - `layeron_plugin_entry`, `init` and `shutdown` are called once each, one after the other, never
 *     at the same time as a handler of that version.
 *   - Handlers run on the host's worker threads. Without LAYERON_PLUGIN_CONCURRENT the host calls at
 *     most one handler of the version at a time; with it, any number at once, from any thread.
 *   - During a hot reload two versions of one plugin are live at once: the new one serves new calls
 *     while calls already running on the old one finish. Each version is its own private copy of the
 *     library, so globals are not shared between them, but files and sockets they open are.
 */
#ifndef LAYERON_PLUGIN_H
#define LAYERON_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. The host passes its own to the entry function. */
#define LAYERON_PLUGIN_ABI_VERSION 1u

/* The symbol every plugin exports, as a string for dlsym. Its type is `layeron_plugin_entry_fn`. */
#define LAYERON_PLUGIN_ENTRY_SYMBOL "layeron_plugin_entry"

/*
 * An optional exported symbol (any kind; its value is never read). A plugin that exports it is never
 * `dlclose`d once loaded, only shut down: for runtimes that register process-wide state that cannot be
 * torn down (the Swift runtime's type metadata and conformance records, for one). The Swift kit
 * exports it for every Swift plugin.
 */
#define LAYERON_PLUGIN_NO_UNLOAD_SYMBOL "layeron_plugin_no_unload"

/* Return codes of plugin functions and host services. */
typedef int32_t layeron_status;
#define LAYERON_OK 0          /* the event was handled; or: the call succeeded */
#define LAYERON_RETRY 1       /* transient failure: the host schedules another attempt */
#define LAYERON_ERROR 2       /* permanent failure: the host records it and does not retry by itself */
#define LAYERON_UNSUPPORTED 3 /* host service: this host does not offer the service (yet) */
#define LAYERON_INVALID 4     /* host service: an argument was rejected (unknown name, bad JSON, …) */

/* Log levels for `layeron_host.log`. An unknown level is logged as LAYERON_LOG_INFO. */
typedef int32_t layeron_log_level;
#define LAYERON_LOG_DEBUG 0
#define LAYERON_LOG_INFO 1
#define LAYERON_LOG_WARN 2
#define LAYERON_LOG_ERROR 3

/*
 * A borrowed byte string: `len` bytes at `ptr`. `ptr` may be NULL only when `len` is 0. Frozen.
 * A `len` of 2^48 or more is no buffer's length (an unset field, -1 made unsigned): a host service
 * given one reads nothing and rejects the call: `emit` returns LAYERON_INVALID, `log` writes a
 * refusal in place of the line, and the result_* functions ignore the call.
 */
typedef struct layeron_bytes {
    const uint8_t *ptr;
    uint64_t len;
} layeron_bytes;

/* One HTTP header as received. Names are lower-case. Borrowed like the event that holds it. Frozen. */
typedef struct layeron_header {
    layeron_bytes name;
    layeron_bytes value;
} layeron_header;

/* Flags in `layeron_event.flags`. */
#define LAYERON_EVENT_REPLAY (1u << 0) /* this attempt was started by an operator's replay */

/*
 * One event handed to a handler. The host owns it and everything it points to; all of it is valid
 * until the handler returns and not a moment longer. Copy what must outlive the call.
 */
typedef struct layeron_event {
    uint32_t struct_size;           /* sizeof(layeron_event) as the host compiled it; read fields past
                                       the v1 ones only when struct_size covers them */
    uint32_t abi_version;           /* LAYERON_PLUGIN_ABI_VERSION of the host that built this event */
    uint32_t flags;                 /* LAYERON_EVENT_* bits; unknown bits are to be ignored */
    uint32_t attempt;               /* 1 for the first attempt, 2 for the next, … (replays count too) */
    layeron_bytes id;               /* our event id, "whevt_…" */
    layeron_bytes webhook;          /* the configured webhook's name, e.g. "stripe" */
    layeron_bytes provider;         /* "stripe", "custom", … */
    layeron_bytes type;             /* the event type, e.g. "invoice.paid"; may be empty */
    layeron_bytes provider_event_id;/* the provider's own id (Stripe's evt_…); may be empty */
    layeron_bytes handler;          /* the handler this call is for, e.g. "fulfill_checkout", so one
                                       function may serve several handler names */
    const layeron_header *headers;  /* `header_count` headers, in the order received */
    uint64_t header_count;
    layeron_bytes body;             /* the raw request body, exactly as signed; may hold NUL bytes */
    int64_t received_at_ms;         /* when the request arrived, Unix epoch milliseconds */
    void *reserved[8];              /* NULL in v1 */
} layeron_event;

/*
 * Opaque, host-owned result of one call (or, in `init`, the place for its error message). The plugin
 * fills it only through the host's result_* functions, only during the call that received it, and
 * never keeps the pointer. A result_* call made outside its call (after the call returned, or from
 * another thread) is ignored and logged as a warning naming the plugin; the pointer stays safe to pass
 * but sets nothing.
 */
typedef struct layeron_result layeron_result;

/*
 * Services the host offers to a plugin, in the manner of SQLite's `sqlite3_api_routines`: a table of
 * function pointers, so a plugin links against nothing of the host's. One table per loaded plugin
 * version; the pointer passed to the entry function and to `init` stays valid until `shutdown`
 * returns, so a plugin may keep it in its instance.
 *
 * Threading: `log` and `emit` may be called from any thread, concurrently, including threads the
 * plugin started, until `shutdown` returns. The result_* functions must only be called on a result
 * during the call that received it, from the thread that call runs on.
 */
typedef struct layeron_host {
    uint32_t struct_size;  /* sizeof(layeron_host) as the host compiled it: a plugin built against a
                              later header calls a function appended there only when it is covered */
    uint32_t abi_version;  /* LAYERON_PLUGIN_ABI_VERSION of the host */
    void *host_data;       /* the host's own; plugins pass the table back and never read this */

    /* Writes one line to the server log, tagged with the plugin's name. `message` is copied; the
       first 8192 bytes are kept, as for result_set_message. */
    void (*log)(const struct layeron_host *host, layeron_log_level level, layeron_bytes message);

    /* A human-readable message for the attempt record (why it failed, or a note). Copied; the last
       call wins. In `init`, the reason the plugin refuses to start. The host keeps at most the
       first 8192 bytes (cut at a character boundary, followed by "… (truncated: N bytes in all)"). */
    void (*result_set_message)(layeron_result *result, layeron_bytes message);
    /* With LAYERON_RETRY: ask for the next attempt no sooner than this many milliseconds. The host
       caps it at the webhook's retry maximum. Ignored with other return codes. */
    void (*result_set_retry_after_ms)(layeron_result *result, uint64_t delay_ms);
    /* For webhooks with respond "after-handler": the HTTP status to answer the provider with. The
       status, headers and body are used only when the handler returns LAYERON_OK: on LAYERON_RETRY
       or LAYERON_ERROR the server answers with its own 503 (retry) or 500 (error) response, and logs
       a warning once per plugin version when a handler set an answer it did not use. */
    void (*result_set_http_status)(layeron_result *result, uint32_t status);
    /* For respond "after-handler", with LAYERON_OK: adds one response header. Name and value are copied.
       At most 512 bytes of headers in all (name + value + 4 each); the host leaves out, and logs, a
       header past that, one that is not a valid header, and Content-Length, Transfer-Encoding and
       Connection. */
    void (*result_add_http_header)(layeron_result *result, layeron_bytes name, layeron_bytes value);
    /* For respond "after-handler", with LAYERON_OK: the response body. Copied; the last call wins.
       At most 1 MiB: the host leaves a larger body out of the answer, and logs it. */
    void (*result_set_http_body)(layeron_result *result, layeron_bytes body);

    /*
     * Emits an outbound webhook event to the named destination (config "outbound"), committed before
     * this returns. `payload` is JSON (a leading UTF-8 byte order mark is dropped); `idempotency_key`
     * may be empty. `destination`, `type` and `idempotency_key` must be valid UTF-8. All four are
     * copied. Returns LAYERON_OK, or LAYERON_INVALID for an unknown destination, bad payload or text
     * that is not UTF-8, or LAYERON_UNSUPPORTED when this host has no outbound delivery configured.
     */
    layeron_status (*emit)(const struct layeron_host *host, layeron_bytes destination,
                           layeron_bytes type, layeron_bytes payload, layeron_bytes idempotency_key);

    void *reserved[8];     /* NULL in v1; later host services are appended here */
} layeron_host;

/*
 * Handles one event. `instance` is what `init` produced (NULL without `init`). Returns LAYERON_OK,
 * LAYERON_RETRY or LAYERON_ERROR; any other value is recorded as LAYERON_ERROR. Must not keep
 * `event`, anything it points to, or `result` after returning.
 */
typedef layeron_status (*layeron_handle_fn)(void *instance, const layeron_event *event,
                                            layeron_result *result);

/*
 * A named handler; config refers to it as "PLUGIN.HANDLER". Names are [a-z0-9_]+, NUL-terminated, and
 * unique within the plugin. Frozen (it is an array element); `reserved` must be NULL.
 */
typedef struct layeron_handler {
    const char *name;
    layeron_handle_fn handle;
    void *reserved[2];
} layeron_handler;

/* Flags in `layeron_plugin_descriptor.flags`. */
#define LAYERON_PLUGIN_CONCURRENT (1u << 0) /* handlers may run on several threads at once */

/*
 * What a plugin is. Returned by the entry function; owned by the plugin; must stay valid and unchanged
 * until the library is unloaded.
 */
typedef struct layeron_plugin_descriptor {
    uint32_t struct_size;   /* sizeof(layeron_plugin_descriptor) as the plugin compiled it */
    uint32_t abi_version;   /* LAYERON_PLUGIN_ABI_VERSION the plugin was built against; the host
                               refuses a version it does not speak before calling anything else */
    const char *name;       /* the plugin's name, [a-z0-9_]+, NUL-terminated; unique per host */
    const char *version;    /* free-form version, e.g. "1.4.2", NUL-terminated; recorded with every
                               attempt so an operator sees which build ran it */
    const char *description;/* one line, NUL-terminated; may be NULL */
    uint32_t flags;         /* LAYERON_PLUGIN_* bits; without CONCURRENT the host serialises calls */
    uint32_t handler_count; /* the array's own length: sizeof handlers / sizeof handlers[0] */
    const layeron_handler *handlers; /* `handler_count` handlers; may be NULL when the count is 0. The
                                        host reads every pointer here through a check and refuses an
                                        unreadable one instead of faulting, at load only */

    /*
     * Creates an instance. `config_json` is this plugin's object from config "plugins.config.NAME"
     * ("{}" when absent), borrowed for the call. On success store the instance (may be NULL) in
     * `*instance_out` and return LAYERON_OK. On failure return LAYERON_ERROR and say why with
     * host->result_set_message(error, …); the plugin is then refused, `shutdown` is not called, the
     * version already serving keeps serving, and the library is unloaded.
     * May be NULL when the plugin needs no instance (handlers then receive NULL).
     */
    layeron_status (*init)(const layeron_host *host, layeron_bytes config_json,
                           layeron_result *error, void **instance_out);

    /* Destroys an instance after its last call has returned; the host table dies with it. May be
       NULL. Runs on a host thread, possibly long after the version stopped receiving new calls. */
    void (*shutdown)(void *instance);

    void *reserved[8];      /* NULL in v1 */
} layeron_plugin_descriptor;

/*
 * The entry symbol, in the manner of CLAP's `clap_entry`: the only symbol the host looks up (besides
 * the optional no-unload marker). The host calls it once per load, before anything else, with its ABI
 * version and its services. Return NULL to refuse a host you cannot work with. Must be cheap, must
 * not start threads, and must not call host services other than `log`.
 */
typedef const layeron_plugin_descriptor *(*layeron_plugin_entry_fn)(uint32_t host_abi_version,
                                                                     const layeron_host *host);

/*
 * Marks a function for export from the shared library even when the plugin is compiled with
 * -fvisibility=hidden. Define it before including this header to use another attribute.
 */
#ifndef LAYERON_PLUGIN_EXPORT
#if defined(__GNUC__) || defined(__clang__)
#define LAYERON_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define LAYERON_PLUGIN_EXPORT
#endif
#endif

/*
 * The entry function every plugin defines (type `layeron_plugin_entry_fn`, contract above). Declared
 * here, inside the extern "C" block, so that the definition a plugin writes gets C linkage in C++
 * (unmangled, the name the host looks up), default visibility under -fvisibility=hidden, and a
 * prototype under -Wmissing-prototypes. A definition whose types differ from this declaration is a
 * compile error in C, and in C++ an overload with a mangled name that the host never finds.
 * Languages that do not read this header export the same name with C linkage themselves.
 */
LAYERON_PLUGIN_EXPORT const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t host_abi_version,
                                                                            const layeron_host *host);

#ifdef __cplusplus
}
#endif

#endif /* LAYERON_PLUGIN_H */
