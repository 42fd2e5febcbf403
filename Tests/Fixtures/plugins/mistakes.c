/*
 * Test plugin "mistakes": the mistakes a plugin author makes that the host must survive and report.
 *  - "late" keeps its layeron_result and sets it 300 ms after returning, from a thread of its own
 *    (the ABI forbids it); init does the same with its error result.
 *  - "answer_then_retry" sets an HTTP answer, then returns LAYERON_RETRY, so the answer is not used.
 *  - "many_headers" adds 200 response headers of 64 bytes each (x-h000 … x-h199) and answers OK.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <layeron/plugin.h>

static const layeron_host *host;

static layeron_bytes text(const char *s) {
    layeron_bytes b = { (const uint8_t *)s, strlen(s) };
    return b;
}

static void *set_late(void *result) {
    usleep(300000);
    host->result_set_message(result, text("written after the call returned"));
    host->result_set_http_status(result, 299);
    host->result_add_http_header(result, text("x-late"), text("1"));
    host->result_set_http_body(result, text("late body"));
    host->result_set_retry_after_ms(result, 1);
    return NULL;
}

static void keep_and_set_later(layeron_result *result) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, set_late, result) == 0) pthread_detach(thread);
}

static layeron_status init(const layeron_host *h, layeron_bytes config, layeron_result *error, void **out) {
    (void)config;
    (void)out;
    host = h;
    keep_and_set_later(error);
    return LAYERON_OK;
}

static layeron_status late(void *i, const layeron_event *e, layeron_result *r) {
    (void)i;
    (void)e;
    keep_and_set_later(r);
    return LAYERON_OK;
}

static layeron_status answer_then_retry(void *i, const layeron_event *e, layeron_result *r) {
    (void)i;
    (void)e;
    host->result_set_http_status(r, 202);
    host->result_add_http_header(r, text("x-mine"), text("1"));
    host->result_set_http_body(r, text("{\"ok\":false}"));
    return LAYERON_RETRY;
}

static layeron_status many_headers(void *i, const layeron_event *e, layeron_result *r) {
    (void)i;
    (void)e;
    char name[16];
    for (int n = 0; n < 200; n++) {
        snprintf(name, sizeof name, "x-h%03d", n);
        host->result_add_http_header(r, text(name), text("0123456789012345678901234567890123456789012345678901"));
    }
    host->result_set_http_body(r, text("{\"headers\":200}"));
    return LAYERON_OK;
}

static const layeron_handler handlers[] = {
    { "late", late, { 0 } },
    { "answer_then_retry", answer_then_retry, { 0 } },
    { "many_headers", many_headers, { 0 } },
};

static const layeron_plugin_descriptor descriptor = {
    .struct_size = sizeof descriptor,
    .abi_version = LAYERON_PLUGIN_ABI_VERSION,
    .name = "mistakes",
    .version = "1.0.0",
    .flags = LAYERON_PLUGIN_CONCURRENT,
    .handler_count = sizeof handlers / sizeof handlers[0],
    .handlers = handlers,
    .init = init,
};

const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t host_abi, const layeron_host *h) {
    (void)host_abi;
    (void)h;
    return &descriptor;
}
