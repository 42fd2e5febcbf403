/*
 * Test plugin "emitter": its handler "relay" turns each inbound event into an outbound "order.paid"
 * event for the destination "partners", while it handles the inbound one. The payload is the inbound
 * body; the idempotency key is the inbound event id, so a retried handler does not emit twice.
 * A failed emit is named by its status (refused, unsupported, or the number), so a test sees which one it got.
 * Its handler "invalid_utf8" emits once with a type and once with an idempotency key that are not
 * UTF-8, and fails with a message naming what each emit returned.
 */
#include <stdio.h>
#include <string.h>

#include <layeron/plugin.h>

static const layeron_host *host;

static layeron_bytes cstr(const char *s) {
    layeron_bytes b = { (const uint8_t *)s, strlen(s) };
    return b;
}

static layeron_status relay(void *instance, const layeron_event *event, layeron_result *result) {
    (void)instance;
    layeron_status status = host->emit(host, cstr("partners"), cstr("order.paid"), event->body, event->id);
    if (status != LAYERON_OK) {
        char message[32];
        if (status == LAYERON_INVALID) {
            snprintf(message, sizeof message, "emit refused");
        } else if (status == LAYERON_UNSUPPORTED) {
            snprintf(message, sizeof message, "emit unsupported");
        } else {
            snprintf(message, sizeof message, "emit status %d", (int)status);
        }
        host->result_set_message(result, cstr(message));
        return LAYERON_ERROR;
    }
    return LAYERON_OK;
}

static const char *status_name(layeron_status status) {
    return status == LAYERON_OK ? "ok" : status == LAYERON_INVALID ? "invalid" : "other";
}

static layeron_status invalid_utf8(void *instance, const layeron_event *event, layeron_result *result) {
    (void)instance;
    layeron_status type = host->emit(host, cstr("partners"), cstr("order.\xff"), event->body, event->id);
    layeron_status key = host->emit(host, cstr("partners"), cstr("order.paid"), event->body, cstr("order-\xff"));
    char message[64];
    snprintf(message, sizeof message, "type %s, key %s", status_name(type), status_name(key));
    host->result_set_message(result, cstr(message));
    return LAYERON_ERROR;
}

static const layeron_handler handlers[] = {
    { "relay", relay, { 0 } },
    { "invalid_utf8", invalid_utf8, { 0 } },
};

static const layeron_plugin_descriptor descriptor = {
    .struct_size = sizeof(layeron_plugin_descriptor),
    .abi_version = LAYERON_PLUGIN_ABI_VERSION,
    .name = "emitter",
    .version = "1.0.0",
    .flags = LAYERON_PLUGIN_CONCURRENT,
    .handler_count = sizeof handlers / sizeof handlers[0],
    .handlers = handlers,
};

const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) {
    host = h;
    return v >= 1 ? &descriptor : NULL;
}
