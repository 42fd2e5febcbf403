/*
 * Benchmark plugin "bench": a handler that does nothing (`bench.noop`), so a run measures the host
 * and not the handler, and one that sleeps 1 ms (`bench.sleep_1ms`), to show that with respond
 * "after-record" a slow handler does not slow the provider's answer.
 *
 * Build: cc -shared -fPIC -O2 -I Sources/CLayeronPlugin/include -o bench.so bench/plugins/bench.c
 */
#include <time.h>

#include <layeron/plugin.h>

static layeron_status bench_init(const layeron_host *host, layeron_bytes config, layeron_result *error,
                                 void **instance_out) {
    (void)host;
    (void)config;
    (void)error;
    *instance_out = NULL;
    return LAYERON_OK;
}

static void bench_shutdown(void *instance) {
    (void)instance;
}

static layeron_status noop(void *instance, const layeron_event *event, layeron_result *result) {
    (void)instance;
    (void)event;
    (void)result;
    return LAYERON_OK;
}

static layeron_status sleep_1ms(void *instance, const layeron_event *event, layeron_result *result) {
    (void)instance;
    (void)event;
    (void)result;
    struct timespec pause = { 0, 1000000 };
    nanosleep(&pause, NULL);
    return LAYERON_OK;
}

static const layeron_handler handlers[] = {
    { "noop", noop, { 0 } },
    { "sleep_1ms", sleep_1ms, { 0 } },
};

static const layeron_plugin_descriptor descriptor = {
    .struct_size = sizeof(layeron_plugin_descriptor),
    .abi_version = LAYERON_PLUGIN_ABI_VERSION,
    .name = "bench",
    .version = "1.0.0",
    .description = "Benchmark handlers: one that does nothing, one that sleeps 1 ms",
    .flags = LAYERON_PLUGIN_CONCURRENT,
    .handler_count = sizeof handlers / sizeof handlers[0],
    .handlers = handlers,
    .init = bench_init,
    .shutdown = bench_shutdown,
};

const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t host_abi_version, const layeron_host *host) {
    (void)host;
    return host_abi_version >= 1 ? &descriptor : NULL;
}
