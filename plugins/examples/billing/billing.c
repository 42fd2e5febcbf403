/*
 * Example plugin: "billing". Each handler appends one line per event to the file named by its plugin
 * config ("plugins": {"config": {"billing": {"output": "data/billing.log"}}}), so a person or a test
 * can see that it ran, with which version, on which attempt.
 *
 * Build: cc -shared -fPIC -I Sources/CLayeronPlugin/include -o plugins/billing.so plugins/examples/billing/billing.c
 * Define BILLING_VERSION to stamp another version; BILLING_FAIL_TIMES=N makes each event fail N times
 * with LAYERON_RETRY before it succeeds (used by the retry tests).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <layeron/plugin.h>

#ifndef BILLING_VERSION
#define BILLING_VERSION "1.0.0"
#endif

typedef struct billing {
    const layeron_host *host;
    char output[4096];
} billing;

/* Copies the "output" string out of the borrowed config JSON. A real plugin would use a JSON parser;
   this example keeps to libc. */
static int read_output_path(layeron_bytes config, char *out, size_t cap) {
    const char *key = "\"output\"";
    size_t key_len = strlen(key);
    for (uint64_t i = 0; i + key_len <= config.len; i++) {
        if (memcmp(config.ptr + i, key, key_len) != 0) continue;
        uint64_t j = i + key_len;
        while (j < config.len && (config.ptr[j] == ' ' || config.ptr[j] == ':')) j++;
        if (j >= config.len || config.ptr[j] != '"') return 0;
        j++;
        size_t n = 0;
        while (j < config.len && config.ptr[j] != '"' && n + 1 < cap) out[n++] = (char)config.ptr[j++];
        out[n] = '\0';
        return n > 0;
    }
    return 0;
}

static layeron_bytes cstr(const char *s) {
    layeron_bytes b = { (const uint8_t *)s, strlen(s) };
    return b;
}

static layeron_status billing_init(const layeron_host *host, layeron_bytes config, layeron_result *error,
                                   void **instance_out) {
    billing *b = calloc(1, sizeof *b);
    if (b == NULL) {
        host->result_set_message(error, cstr("out of memory"));
        return LAYERON_ERROR;
    }
    b->host = host;
    if (!read_output_path(config, b->output, sizeof b->output)) {
        host->result_set_message(error, cstr("plugin config needs \"output\": the file to append events to"));
        free(b);
        return LAYERON_ERROR;
    }
    *instance_out = b;
    host->log(host, LAYERON_LOG_INFO, cstr("billing " BILLING_VERSION " ready"));
    return LAYERON_OK;
}

static void billing_shutdown(void *instance) {
    free(instance);
}

static layeron_status append_line(billing *b, const char *handler, const layeron_event *event,
                                  layeron_result *result) {
#ifdef BILLING_FAIL_TIMES
    if (event->attempt <= BILLING_FAIL_TIMES) {
        b->host->result_set_message(result, cstr("simulated transient failure"));
        b->host->result_set_retry_after_ms(result, 100);
        return LAYERON_RETRY;
    }
#endif
    char line[1024];
    int n = snprintf(line, sizeof line, "%s %.*s %.*s version=%s attempt=%u replay=%d\n", handler,
                     (int)event->id.len, (const char *)event->id.ptr, (int)event->type.len,
                     (const char *)event->type.ptr, BILLING_VERSION, event->attempt,
                     (event->flags & LAYERON_EVENT_REPLAY) ? 1 : 0);
    int fd = open(b->output, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
        b->host->result_set_message(result, cstr("cannot open the output file"));
        return LAYERON_RETRY;
    }
    /* O_APPEND makes each short write land whole, so concurrent calls never interleave lines. */
    ssize_t written = write(fd, line, (size_t)n);
    close(fd);
    if (written != n) {
        b->host->result_set_message(result, cstr("short write to the output file"));
        return LAYERON_RETRY;
    }
    return LAYERON_OK;
}

static layeron_status fulfill_checkout(void *instance, const layeron_event *event, layeron_result *result) {
    return append_line(instance, "fulfill_checkout", event, result);
}

static layeron_status mark_invoice_paid(void *instance, const layeron_event *event, layeron_result *result) {
    return append_line(instance, "mark_invoice_paid", event, result);
}

static const layeron_handler handlers[] = {
    { "fulfill_checkout", fulfill_checkout, { 0 } },
    { "mark_invoice_paid", mark_invoice_paid, { 0 } },
};

static const layeron_plugin_descriptor descriptor = {
    .struct_size = sizeof(layeron_plugin_descriptor),
    .abi_version = LAYERON_PLUGIN_ABI_VERSION,
    .name = "billing",
    .version = BILLING_VERSION,
    .description = "Appends one line per billing event to a file",
    .flags = LAYERON_PLUGIN_CONCURRENT,
    .handler_count = sizeof handlers / sizeof handlers[0],
    .handlers = handlers,
    .init = billing_init,
    .shutdown = billing_shutdown,
};

LAYERON_PLUGIN_EXPORT const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t host_abi_version, const layeron_host *host) {
    (void)host;
    return host_abi_version >= 1 ? &descriptor : NULL;
}
