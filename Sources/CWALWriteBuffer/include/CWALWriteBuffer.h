#ifndef LAYERON_WAL_WRITE_BUFFER_H
#define LAYERON_WAL_WRITE_BUFFER_H

/* A SQLite VFS that wraps the default one and hands each commit's WAL frames to the kernel in one
 * write instead of two per frame (a 24-byte header, then the page). Everything else passes through.
 * See wal_write_buffer.c for the rules that keep it exactly as durable as the default VFS. */

/* The name to pass to sqlite3_open_v2. */
#define LAYERON_WAL_BUFFER_VFS "layeron-wal-buffer"

/* Registers the VFS (not as the default). Safe to call more than once, from any thread.
 * Returns SQLITE_OK or the error of the registration. */
int layeron_wal_buffer_register(void);

#endif
