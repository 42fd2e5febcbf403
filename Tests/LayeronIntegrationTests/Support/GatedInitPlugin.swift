import Foundation

/// A C plugin whose `init` can be held open from a test: with `"gate": PATH` in its config, `init`
/// creates PATH.waiting and waits until PATH exists. A load can then be made to take as long as a
/// test needs, so that what overlaps it is deterministic. With `"record": PATH`, each `init` first
/// appends the config it was given to PATH, one line each.
enum GatedInitPlugin {
    /// C: `string_of(text, key, out, size)` copies the string value of `key` (quoted, as `"\"gate\""`)
    /// in a plugin's config text into `out`; 0 when there is none. Test plugins read their config with it.
    static let stringOf = """
        static int string_of(const char *text, const char *key, char *out, size_t size) {
            const char *found = strstr(text, key);
            const char *open = found ? strchr(found + strlen(key), '"') : NULL;
            const char *close = open ? strchr(open + 1, '"') : NULL;
            if (!close || (size_t)(close - open - 1) >= size) return 0;
            memset(out, 0, size);
            memcpy(out, open + 1, (size_t)(close - open - 1));
            return 1;
        }
        """

    /// `waitsAtGate` false builds a version that ignores the gate (a newer build that starts at once).
    static func source(name: String, version: String, handlers: [String], waitsAtGate: Bool = true) -> String {
        let functions = handlers.map { "static layeron_status \($0)(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }" }
        let table = handlers.map { "{ \"\($0)\", \($0), { 0 } }" }.joined(separator: ", ")
        return """
            #include <layeron/plugin.h>
            #include <stdio.h>
            #include <string.h>
            #include <unistd.h>
            \(functions.joined(separator: "\n"))
            \(stringOf)
            static layeron_status start(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
                (void)host; (void)error; (void)out;
                char text[4096] = { 0 };
                memcpy(text, config.ptr, config.len < sizeof text - 1 ? config.len : sizeof text - 1);
                char record[1024];
                if (string_of(text, "\\"record\\"", record, sizeof record)) {
                    FILE *r = fopen(record, "a");
                    if (r) { fprintf(r, "%s\\n", text); fclose(r); }
                }
                if (!\(waitsAtGate ? 1 : 0)) return LAYERON_OK;
                char gate[1024], waiting[1100];
                if (!string_of(text, "\\"gate\\"", gate, sizeof gate)) return LAYERON_OK;
                snprintf(waiting, sizeof waiting, "%s.waiting", gate);
                FILE *f = fopen(waiting, "w");
                if (f) fclose(f);
                while (access(gate, F_OK) != 0) usleep(10000);
                return LAYERON_OK;
            }
            static const layeron_handler handlers[] = { \(table) };
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "\(name)", .version = "\(version)", .handler_count = \(handlers.count), .handlers = handlers, .init = start };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """
    }
}
