/*
 * Example plugin: "vendor". Its one handler, "process", writes each event to the server log through
 * the host's log service, and answers with a body when the webhook uses respond "after-handler".
 *
 * Build: cc -shared -fPIC -I Sources/CLayeronPlugin/include -o plugins/vendor.so plugins/examples/vendor/vendor.c
 */
#include <stdio.h>
#include <string.h>

#include <layeron/plugin.h>

static const layeron_host *host_services;

static layeron_status process(void *instance, const layeron_event *event, layeron_result *result) {
    (void)instance;
    char line[512];
    int n = snprintf(line, sizeof line, "vendor event %.*s of type %.*s, %llu body bytes",
                     (int)event->id.len, (const char *)event->id.ptr, (int)event->type.len,
                     (const char *)event->type.ptr, (unsigned long long)event->body.len);
    layeron_bytes message = { (const uint8_t *)line, (uint64_t)n };
    host_services->log(host_services, LAYERON_LOG_INFO, message);

    static const char body[] = "{\"received\":true}";
    layeron_bytes response = { (const uint8_t *)body, sizeof body - 1 };
    host_services->result_set_http_body(result, response);
    return LAYERON_OK;
}

static layeron_status vendor_init(const layeron_host *host, layeron_bytes config, layeron_result *error,
                                  void **instance_out) {
    (void)config;
    (void)error;
    host_services = host;
    *instance_out = NULL;
    return LAYERON_OK;
}

static const layeron_handler handlers[] = {
    { "process", process, { 0 } },
};

static const layeron_plugin_descriptor descriptor = {
    .struct_size = sizeof(layeron_plugin_descriptor),
    .abi_version = LAYERON_PLUGIN_ABI_VERSION,
    .name = "vendor",
    .version = "1.0.0",
    .description = "Logs each vendor event",
    .flags = LAYERON_PLUGIN_CONCURRENT,
    .handler_count = 1,
    .handlers = handlers,
    .init = vendor_init,
    .shutdown = NULL,
};

LAYERON_PLUGIN_EXPORT const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t host_abi_version, const layeron_host *host) {
    (void)host;
    return host_abi_version >= 1 ? &descriptor : NULL;
}
