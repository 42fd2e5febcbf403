/*
 * An LD_PRELOAD library that steps the wall clock of the process it is loaded into, as an NTP step or
 * an operator's `date -s` does, for the clock-step tests. The step, in seconds (negative: back), is
 * read from the file named by $WALL_CLOCK_STEP_FILE, at most every 100 ms of monotonic time.
 *
 * CLOCK_REALTIME, gettimeofday and time read the stepped clock. A timed wait on a condition that
 * runs on CLOCK_REALTIME (the default) ends when the stepped clock reaches its deadline, as the
 * kernel's does; one on a condition created with CLOCK_MONOTONIC is left alone, as no step moves it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long step_ns;
static long long read_at = -1000000000LL;
static pthread_mutex_t monotonic_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t *monotonic_conditions[256];
static int monotonic_count;

static int raw_clock(clockid_t clock, struct timespec *ts) { return (int)syscall(SYS_clock_gettime, clock, ts); }

static long long step(void) {
    struct timespec now;
    raw_clock(CLOCK_MONOTONIC, &now);
    long long at = now.tv_sec * 1000000000LL + now.tv_nsec;
    if (at - read_at > 100000000LL) {
        read_at = at;
        const char *path = getenv("WALL_CLOCK_STEP_FILE");
        FILE *file = path ? fopen(path, "r") : NULL;
        double seconds;
        if (file) {
            if (fscanf(file, "%lf", &seconds) == 1) step_ns = (long long)(seconds * 1e9);
            fclose(file);
        }
    }
    return step_ns;
}

static void shift(struct timespec *ts, long long ns) {
    long long t = ts->tv_sec * 1000000000LL + ts->tv_nsec + ns;
    ts->tv_sec = t / 1000000000LL;
    ts->tv_nsec = t % 1000000000LL;
    if (ts->tv_nsec < 0) { ts->tv_nsec += 1000000000LL; ts->tv_sec--; }
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    int r = raw_clock(clock, ts);
    if (r == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) shift(ts, step());
    return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (tv) { tv->tv_sec = ts.tv_sec; tv->tv_usec = ts.tv_nsec / 1000; }
    return 0;
}

time_t time(time_t *t) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (t) *t = ts.tv_sec;
    return ts.tv_sec;
}

int pthread_cond_init(pthread_cond_t *cond, const pthread_condattr_t *attr) {
    static int (*real)(pthread_cond_t *, const pthread_condattr_t *);
    if (!real) real = dlvsym(RTLD_NEXT, "pthread_cond_init", "GLIBC_2.3.2");
    if (!real) real = dlsym(RTLD_NEXT, "pthread_cond_init");
    clockid_t clock = CLOCK_REALTIME;
    if (attr) pthread_condattr_getclock(attr, &clock);
    if (clock == CLOCK_MONOTONIC) {
        pthread_mutex_lock(&monotonic_lock);
        if (monotonic_count < 256) monotonic_conditions[monotonic_count++] = cond;
        pthread_mutex_unlock(&monotonic_lock);
    }
    return real(cond, attr);
}

static int runs_on_monotonic(pthread_cond_t *cond) {
    pthread_mutex_lock(&monotonic_lock);
    int found = 0;
    for (int i = 0; i < monotonic_count && !found; i++) found = monotonic_conditions[i] == cond;
    pthread_mutex_unlock(&monotonic_lock);
    return found;
}

int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex, const struct timespec *deadline) {
    static int (*real)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
    if (!real) real = dlvsym(RTLD_NEXT, "pthread_cond_timedwait", "GLIBC_2.3.2");
    if (!real) real = dlsym(RTLD_NEXT, "pthread_cond_timedwait");
    if (runs_on_monotonic(cond)) return real(cond, mutex, deadline);
    struct timespec unstepped = *deadline;
    shift(&unstepped, -step());
    return real(cond, mutex, &unstepped);
}
