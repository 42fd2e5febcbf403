/*
 * Test plugin "emitter": its handler "relay" turns each inbound event into an outbound "order.paid"
 * event for the destination "partners", while it handles the inbound one. The payload is the inbound
 * body; the idempotency key is the inbound event id, so a retried handler does not emit twice.
 */
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
        host->result_set_message(result, cstr(status == LAYERON_INVALID ? "emit refused" : "emit unsupported"));
        return LAYERON_ERROR;
    }
    return LAYERON_OK;
}

static const layeron_handler handlers[] = {
    { "relay", relay, { 0 } },
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
