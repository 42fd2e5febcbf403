/*
 * The WAL write buffer: a SQLite VFS over the default ("unix") one.
 *
 * SQLite writes every WAL frame as two pwrite calls: the 24-byte frame header, then the page. The
 * store's single writer commits a few dozen frames per group commit, so those calls are most of its
 * system time. This VFS collects a run of consecutive writes to a WAL file in memory and writes the
 * run with one call.
 *
 * It is exactly as durable as the default VFS because a run never outlives the commit that wrote it:
 *  - the last frame of a commit carries a non-zero "database size" in its header (bytes 4..7 of the
 *    frame header, the WAL file format's commit marker); the write of that frame's page flushes the
 *    run before returning, and a failed flush is that write's error, so SQLite sees the commit fail;
 *  - every other call on the WAL file (read, sync, truncate, size, lock, close, a write that does not
 *    continue the run) flushes first, so SQLite never observes the file without its own writes;
 *  - the database file's shared-memory calls (barrier, lock), through which SQLite publishes new
 *    frames to other connections, flush its WAL's run first, in case a run is ever pending there.
 * A process crash with a run in memory loses only frames of a transaction whose commit had not
 * returned: nothing acknowledged.
 *
 * Only connections opened with this VFS's name use it (the store's writer); one connection is used
 * by one thread at a time, so a file's run needs no lock.
 */
#include "CWALWriteBuffer.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* A run is written before it would pass this size: the unix VFS writes at most 0x1ffff bytes a call
 * (its seekAndWriteFd masks the length), so a run stays below 128 KB (30 frames of 4 KB pages). */
#define RUN_CAPACITY (124 * 1024)
#define FRAME_HEADER_SIZE 24

typedef struct BufferedFile BufferedFile;
struct BufferedFile {
    sqlite3_file base;
    sqlite3_file *real;          /* the default VFS's file, allocated right after this struct */
    BufferedFile *wal;           /* main database file: its WAL while open */
    BufferedFile *database;      /* WAL file: its main database file */
    int isWal;
    unsigned char *run;          /* WAL file: pending bytes, RUN_CAPACITY long */
    int runLength;
    sqlite3_int64 runOffset;
    int commitFrameNext;         /* the header just buffered marks a commit: flush after its page */
};

static sqlite3_vfs bufferVFS;
static sqlite3_vfs *realVFS;
static sqlite3_io_methods bufferMethods;
static pthread_once_t registerOnce = PTHREAD_ONCE_INIT;
static int registerResult = SQLITE_OK;

#define REAL(f) (((BufferedFile *)(f))->real)

/* Writes what `file`'s run holds before the call that follows, returning a failure as that call's. */
#define FLUSH_FIRST(file)                          \
    do {                                           \
        int flushed = flushRun(file);              \
        if (flushed != SQLITE_OK) return flushed;  \
    } while (0)

static int flushRun(BufferedFile *file) {
    if (file == NULL || file->runLength == 0) return SQLITE_OK;
    int length = file->runLength;
    file->runLength = 0;
    return file->real->pMethods->xWrite(file->real, file->run, length, file->runOffset);
}

static int bufferedClose(sqlite3_file *f) {
    BufferedFile *file = (BufferedFile *)f;
    int rc = flushRun(file);
    if (file->isWal && file->database != NULL && file->database->wal == file) file->database->wal = NULL;
    if (!file->isWal && file->wal != NULL) file->wal->database = NULL;
    int closeRC = file->real->pMethods->xClose(file->real);
    free(file->run);
    file->run = NULL;
    return rc != SQLITE_OK ? rc : closeRC;
}

static int bufferedRead(sqlite3_file *f, void *out, int amount, sqlite3_int64 offset) {
    FLUSH_FIRST((BufferedFile *)f);
    return REAL(f)->pMethods->xRead(REAL(f), out, amount, offset);
}

static int bufferedWrite(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset) {
    BufferedFile *file = (BufferedFile *)f;
    if (!file->isWal) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    int continuesRun = file->runLength > 0 && offset == file->runOffset + file->runLength;
    if (!continuesRun || file->runLength + amount > RUN_CAPACITY) {
        int rc = flushRun(file);
        if (rc != SQLITE_OK) return rc;
    }
    if (amount > RUN_CAPACITY) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    if (file->runLength == 0) file->runOffset = offset;
    memcpy(file->run + file->runLength, data, (size_t)amount);
    file->runLength += amount;
    if (file->commitFrameNext) {
        /* This is the commit frame's page: the transaction is complete in the run. */
        file->commitFrameNext = 0;
        return flushRun(file);
    }
    if (amount == FRAME_HEADER_SIZE) {
        const unsigned char *header = data;
        file->commitFrameNext = (header[4] | header[5] | header[6] | header[7]) != 0;
    }
    return SQLITE_OK;
}

static int bufferedTruncate(sqlite3_file *f, sqlite3_int64 size) {
    FLUSH_FIRST((BufferedFile *)f);
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int bufferedSync(sqlite3_file *f, int flags) {
    FLUSH_FIRST((BufferedFile *)f);
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int bufferedFileSize(sqlite3_file *f, sqlite3_int64 *size) {
    FLUSH_FIRST((BufferedFile *)f);
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int bufferedLock(sqlite3_file *f, int level) {
    FLUSH_FIRST((BufferedFile *)f);
    return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int bufferedUnlock(sqlite3_file *f, int level) {
    FLUSH_FIRST((BufferedFile *)f);
    return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int bufferedCheckReservedLock(sqlite3_file *f, int *out) {
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int bufferedFileControl(sqlite3_file *f, int op, void *arg) {
    FLUSH_FIRST((BufferedFile *)f);
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int bufferedSectorSize(sqlite3_file *f) {
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int bufferedDeviceCharacteristics(sqlite3_file *f) {
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int bufferedShmMap(sqlite3_file *f, int page, int pageSize, int extend, void volatile **out) {
    return REAL(f)->pMethods->xShmMap(REAL(f), page, pageSize, extend, out);
}

static int bufferedShmLock(sqlite3_file *f, int offset, int n, int flags) {
    FLUSH_FIRST(((BufferedFile *)f)->wal);
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void bufferedShmBarrier(sqlite3_file *f) {
    /* No error can be returned here; the commit frame's write has flushed already (see above). */
    (void)flushRun(((BufferedFile *)f)->wal);
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int bufferedShmUnmap(sqlite3_file *f, int deleteFlag) {
    return REAL(f)->pMethods->xShmUnmap(REAL(f), deleteFlag);
}

static int bufferedFetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out) {
    FLUSH_FIRST((BufferedFile *)f);
    return REAL(f)->pMethods->xFetch(REAL(f), offset, amount, out);
}

static int bufferedUnfetch(sqlite3_file *f, sqlite3_int64 offset, void *page) {
    return REAL(f)->pMethods->xUnfetch(REAL(f), offset, page);
}

static int bufferedOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *outFlags) {
    (void)vfs;
    BufferedFile *file = (BufferedFile *)f;
    memset(file, 0, sizeof(*file));
    file->real = (sqlite3_file *)(file + 1);
    int isWal = (flags & SQLITE_OPEN_WAL) != 0;
    if (isWal) {
        file->run = malloc(RUN_CAPACITY);
        if (file->run == NULL) return SQLITE_NOMEM;
    }
    int rc = realVFS->xOpen(realVFS, name, file->real, flags, outFlags);
    if (rc != SQLITE_OK) {
        /* SQLite calls xClose only when pMethods is set: leave ours unset and close what the
         * default VFS may have left open itself. */
        if (file->real->pMethods != NULL) file->real->pMethods->xClose(file->real);
        free(file->run);
        file->run = NULL;
        return rc;
    }
    if (file->real->pMethods->iVersion < 3) {
        /* Every method is passed through as version 3; a file without them is not buffered. */
        file->real->pMethods->xClose(file->real);
        free(file->run);
        file->run = NULL;
        return SQLITE_CANTOPEN;
    }
    file->isWal = isWal;
    file->base.pMethods = &bufferMethods;
    if (isWal && name != NULL) {
        sqlite3_file *database = sqlite3_database_file_object(name);
        if (database != NULL && database->pMethods == &bufferMethods) {
            file->database = (BufferedFile *)database;
            file->database->wal = file;
        }
    }
    return SQLITE_OK;
}

static int passDelete(sqlite3_vfs *v, const char *name, int syncDir) { (void)v; return realVFS->xDelete(realVFS, name, syncDir); }
static int passAccess(sqlite3_vfs *v, const char *name, int flags, int *out) { (void)v; return realVFS->xAccess(realVFS, name, flags, out); }
static int passFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) { (void)v; return realVFS->xFullPathname(realVFS, name, n, out); }
static void *passDlOpen(sqlite3_vfs *v, const char *name) { (void)v; return realVFS->xDlOpen(realVFS, name); }
static void passDlError(sqlite3_vfs *v, int n, char *out) { (void)v; realVFS->xDlError(realVFS, n, out); }
static void (*passDlSym(sqlite3_vfs *v, void *handle, const char *symbol))(void) { (void)v; return realVFS->xDlSym(realVFS, handle, symbol); }
static void passDlClose(sqlite3_vfs *v, void *handle) { (void)v; realVFS->xDlClose(realVFS, handle); }
static int passRandomness(sqlite3_vfs *v, int n, char *out) { (void)v; return realVFS->xRandomness(realVFS, n, out); }
static int passSleep(sqlite3_vfs *v, int us) { (void)v; return realVFS->xSleep(realVFS, us); }
static int passCurrentTime(sqlite3_vfs *v, double *out) { (void)v; return realVFS->xCurrentTime(realVFS, out); }
static int passGetLastError(sqlite3_vfs *v, int n, char *out) { (void)v; return realVFS->xGetLastError(realVFS, n, out); }
static int passCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) { (void)v; return realVFS->xCurrentTimeInt64(realVFS, out); }

static void registerVFS(void) {
    realVFS = sqlite3_vfs_find(NULL);
    if (realVFS == NULL || realVFS->iVersion < 2) {
        registerResult = SQLITE_ERROR;
        return;
    }
    bufferMethods = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = bufferedClose, .xRead = bufferedRead, .xWrite = bufferedWrite,
        .xTruncate = bufferedTruncate, .xSync = bufferedSync, .xFileSize = bufferedFileSize,
        .xLock = bufferedLock, .xUnlock = bufferedUnlock, .xCheckReservedLock = bufferedCheckReservedLock,
        .xFileControl = bufferedFileControl, .xSectorSize = bufferedSectorSize,
        .xDeviceCharacteristics = bufferedDeviceCharacteristics,
        .xShmMap = bufferedShmMap, .xShmLock = bufferedShmLock, .xShmBarrier = bufferedShmBarrier,
        .xShmUnmap = bufferedShmUnmap, .xFetch = bufferedFetch, .xUnfetch = bufferedUnfetch,
    };
    bufferVFS = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(BufferedFile) + realVFS->szOsFile,
        .mxPathname = realVFS->mxPathname,
        .zName = LAYERON_WAL_BUFFER_VFS,
        .xOpen = bufferedOpen, .xDelete = passDelete, .xAccess = passAccess,
        .xFullPathname = passFullPathname, .xDlOpen = passDlOpen, .xDlError = passDlError,
        .xDlSym = passDlSym, .xDlClose = passDlClose, .xRandomness = passRandomness,
        .xSleep = passSleep, .xCurrentTime = passCurrentTime, .xGetLastError = passGetLastError,
        .xCurrentTimeInt64 = passCurrentTimeInt64,
    };
    registerResult = sqlite3_vfs_register(&bufferVFS, 0);
}

int layeron_wal_buffer_register(void) {
    pthread_once(&registerOnce, registerVFS);
    return registerResult;
}
