#include <sqlite3.h>

/// `sqlite3_config` is variadic, which Swift cannot call: this sets `SQLITE_CONFIG_MEMSTATUS` off, so
/// that SQLite's allocations stop taking its process-wide memory-statistics mutex. Only takes effect
/// before SQLite's first use in the process (else SQLITE_MISUSE, and statistics stay on).
static inline int layeron_sqlite_memstatus_off(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
