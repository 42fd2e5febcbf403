/*
 * Test plugin "behaviours": handlers with scripted outcomes for the inbound-handling tests. Every
 * handler appends "<handler> <event id> <type> attempt=<n> replay=<0|1>" to the config's "output" file
 * when it runs. Config: {"output": PATH, "fail_times": N, "sleep_ms": N, "gate": PATH,
 * "init_moves": PATH, "init_moves_to": PATH} (init renames the first file to the second, a change
 * made while the server starts).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <layeron/plugin.h>

/* Built with -DBEHAVIOURS_SERIAL it is the plugin "serial", which takes one call at a time;
   -DPLUGIN_VERSION='"2.0.0"' builds another version of it. */
#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "1.0.0"
#endif
#ifdef BEHAVIOURS_SERIAL
#define PLUGIN_NAME "serial"
#define PLUGIN_FLAGS 0
#else
#define PLUGIN_NAME "behaviours"
#define PLUGIN_FLAGS LAYERON_PLUGIN_CONCURRENT
#endif

typedef struct state {
    const layeron_host *host;
    char output[2048];
    char gate[2048];
    long fail_times;
    long sleep_ms;
} state;

static const char *find_key(layeron_bytes config, const char *key) {
    size_t n = strlen(key);
    for (uint64_t i = 0; i + n <= config.len; i++) {
        if (memcmp(config.ptr + i, key, n) == 0) {
            const char *p = (const char *)config.ptr + i + n;
            while (*p == ' ' || *p == ':' || *p == '"') p++;
            return p;
        }
    }
    return NULL;
}

/* Copies the string value of `key` into `out` (empty when the key is missing); false when missing. */
static int copy_string(layeron_bytes config, const char *key, char *out, size_t size) {
    const char *p = find_key(config, key);
    size_t i = 0;
    while (p != NULL && p[i] && p[i] != '"' && i + 1 < size) { out[i] = p[i]; i++; }
    out[i] = 0;
    return p != NULL;
}

static layeron_bytes cstr(const char *s) {
    layeron_bytes b = { (const uint8_t *)s, strlen(s) };
    return b;
}

static layeron_status init(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
    state *s = calloc(1, sizeof *s);
    s->host = host;
    if (!copy_string(config, "\"output\"", s->output, sizeof s->output)) {
        host->result_set_message(error, cstr("config needs output"));
        free(s);
        return LAYERON_ERROR;
    }
    copy_string(config, "\"gate\"", s->gate, sizeof s->gate);
    char from[2048], to[2048];
    if (copy_string(config, "\"init_moves\"", from, sizeof from) && copy_string(config, "\"init_moves_to\"", to, sizeof to)) {
        if (rename(from, to) != 0) { /* the test sees the file did not move */ }
    }
    const char *f = find_key(config, "\"fail_times\"");
    s->fail_times = f ? strtol(f, NULL, 10) : 0;
    const char *w = find_key(config, "\"sleep_ms\"");
    s->sleep_ms = w ? strtol(w, NULL, 10) : 0;
    *out = s;
    return LAYERON_OK;
}

static void shutdown_state(void *instance) { free(instance); }

static void record(state *s, const char *handler, const layeron_event *e) {
    char line[512];
    int n = snprintf(line, sizeof line, "%s %.*s %.*s attempt=%u replay=%d\n", handler, (int)e->id.len,
                     (const char *)e->id.ptr, (int)e->type.len, (const char *)e->type.ptr, e->attempt,
                     (e->flags & LAYERON_EVENT_REPLAY) ? 1 : 0);
    int fd = open(s->output, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        if (write(fd, line, (size_t)n) != n) { /* the test sees the missing line */ }
        close(fd);
    }
}

static void pause_ms(long ms) {
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

static layeron_status ok(void *i, const layeron_event *e, layeron_result *r) {
    (void)r;
    record(i, "ok", e);
    return LAYERON_OK;
}

static layeron_status flaky(void *i, const layeron_event *e, layeron_result *r) {
    state *s = i;
    record(s, "flaky", e);
    if ((long)e->attempt <= s->fail_times) {
        s->host->result_set_message(r, cstr("flaky: not yet"));
        s->host->result_set_retry_after_ms(r, 50);
        return LAYERON_RETRY;
    }
    return LAYERON_OK;
}

static layeron_status always_retry(void *i, const layeron_event *e, layeron_result *r) {
    state *s = i;
    record(s, "always_retry", e);
    s->host->result_set_message(r, cstr("downstream unavailable"));
    return LAYERON_RETRY;
}

static layeron_status always_error(void *i, const layeron_event *e, layeron_result *r) {
    state *s = i;
    record(s, "always_error", e);
    s->host->log(s->host, LAYERON_LOG_WARN, cstr("refusing the payload"));
    s->host->result_set_message(r, cstr("permanent: bad payload"));
    return LAYERON_ERROR;
}

static layeron_status slow(void *i, const layeron_event *e, layeron_result *r) {
    state *s = i;
    (void)r;
    pause_ms(s->sleep_ms);
    record(s, "slow", e);
    return LAYERON_OK;
}

/* Returns once the config's "gate" file exists (or after a minute), then records: a call that lasts
   exactly until the test has seen what it must see while the call runs, however slow the machine. */
static layeron_status gated(void *i, const layeron_event *e, layeron_result *r) {
    state *s = i;
    (void)r;
    for (long waited = 0; access(s->gate, F_OK) != 0 && waited < 60000; waited += 10) pause_ms(10);
    record(s, "gated", e);
    return LAYERON_OK;
}

/* Records its call as it starts, then returns once the file "<gate>-<type>-<attempt>" exists (or
   after a minute): each run of each event lasts until the test ends it, and the test sees every
   run start. An event of type "retry_first" asks for a retry 50 ms on from its first attempt. */
static layeron_status held(void *i, const layeron_event *e, layeron_result *r) {
    state *s = i;
    record(s, "held", e);
    char path[2400];
    snprintf(path, sizeof path, "%s-%.*s-%u", s->gate, (int)e->type.len, (const char *)e->type.ptr, e->attempt);
    for (long waited = 0; access(path, F_OK) != 0 && waited < 60000; waited += 10) pause_ms(10);
    if (e->attempt == 1 && e->type.len == 11 && memcmp(e->type.ptr, "retry_first", 11) == 0) {
        s->host->result_set_message(r, cstr("the first attempt asks for a retry"));
        s->host->result_set_retry_after_ms(r, 50);
        return LAYERON_RETRY;
    }
    return LAYERON_OK;
}

/* Succeeds on the first attempt only: a forced replay of its processed event fails. */
static layeron_status first_only(void *i, const layeron_event *e, layeron_result *r) {
    state *s = i;
    record(s, "first_only", e);
    if (e->attempt == 1) return LAYERON_OK;
    s->host->result_set_message(r, cstr("only the first attempt succeeds"));
    return LAYERON_ERROR;
}

/* Takes the whole server down after `sleep_ms`, as a handler with a fatal bug does. */
static layeron_status crash(void *i, const layeron_event *e, layeron_result *r) {
    state *s = i;
    (void)r;
    record(s, "crash", e);
    pause_ms(s->sleep_ms);
    kill(getpid(), SIGKILL);
    return LAYERON_OK;
}

/* Answers like a url_verification challenge: 200, a header, and the request body echoed. */
static layeron_status respond(void *i, const layeron_event *e, layeron_result *r) {
    state *s = i;
    record(s, "respond", e);
    s->host->result_set_http_status(r, 201);
    s->host->result_add_http_header(r, cstr("X-Handled-By"), cstr("behaviours"));
    s->host->result_add_http_header(r, cstr("Content-Type"), cstr("text/plain"));
    s->host->result_set_http_body(r, e->body);
    return LAYERON_OK;
}

static const layeron_handler handlers[] = {
    { "ok", ok, { 0 } },
    { "flaky", flaky, { 0 } },
    { "always_retry", always_retry, { 0 } },
    { "always_error", always_error, { 0 } },
    { "slow", slow, { 0 } },
    { "respond", respond, { 0 } },
    { "crash", crash, { 0 } },
    { "first_only", first_only, { 0 } },
    { "gated", gated, { 0 } },
    { "held", held, { 0 } },
};

static const layeron_plugin_descriptor descriptor = {
    .struct_size = sizeof(layeron_plugin_descriptor),
    .abi_version = LAYERON_PLUGIN_ABI_VERSION,
    .name = PLUGIN_NAME,
    .version = PLUGIN_VERSION,
    .flags = PLUGIN_FLAGS,
    .handler_count = sizeof handlers / sizeof handlers[0],
    .handlers = handlers,
    .init = init,
    .shutdown = shutdown_state,
};

const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) {
    (void)h;
    return v >= 1 ? &descriptor : NULL;
}
