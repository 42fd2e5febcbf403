/* For accept4, which glibc declares only then. */
#define _GNU_SOURCE
#include "CShims.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* libmicrohttpd hands its messages over as a format and a va_list, which Swift cannot format. */
static void layeron_mhd_log(void *cls, const char *format, va_list arguments) {
    const layeron_mhd_log_target *target = cls;
    char message[512];
    vsnprintf(message, sizeof message, format, arguments);
    size_t length = strlen(message);
    while (length > 0 && (message[length - 1] == '\n' || message[length - 1] == '\r')) {
        message[--length] = '\0';
    }
    target->callback(target->cls, message);
}

struct MHD_Daemon *layeron_mhd_start(const layeron_mhd_options *options, void *cls,
                                     layeron_mhd_uri_callback uri_callback,
                                     MHD_AccessHandlerCallback handler,
                                     MHD_RequestCompletedCallback completed,
                                     MHD_NotifyConnectionCallback connections,
                                     const layeron_mhd_log_target *log) {
    /* MHD_USE_ITC (which MHD_ALLOW_SUSPEND_RESUME implies as well): MHD_add_connection queues the
       connection to a worker and wakes it through its channel; without one it waits for other
       activity on that worker. No listening socket: the caller accepts and hands connections over. */
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
                         MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET;
    /* The logger first, so that messages about the options after it reach it too. */
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, cls,
                            MHD_OPTION_EXTERNAL_LOGGER, layeron_mhd_log, (void *)log,
                            MHD_OPTION_THREAD_POOL_SIZE, options->thread_pool_size,
                            MHD_OPTION_CONNECTION_TIMEOUT, options->connection_timeout_s,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, options->connection_memory_limit,
                            MHD_OPTION_CONNECTION_LIMIT, options->connection_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, options->per_address_limit,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, cls,
                            MHD_OPTION_NOTIFY_CONNECTION, connections, cls,
                            MHD_OPTION_URI_LOG_CALLBACK, uri_callback, cls,
                            MHD_OPTION_END);
}

int layeron_accept(int listening, struct sockaddr_storage *address, socklen_t *length) {
    *length = sizeof *address;
    return accept4(listening, (struct sockaddr *)address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* MHD_get_connection_info is variadic, so Swift cannot call it. */
int layeron_mhd_connection_socket(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : info->connect_fd;
}

void *layeron_mhd_socket_context(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == NULL ? NULL : info->socket_context;
}

bool layeron_mhd_client_address(struct MHD_Connection *connection, struct sockaddr_storage *address) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL) {
        return false;
    }
    size_t length = info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memset(address, 0, sizeof *address);
    memcpy(address, info->client_addr, length);
    return true;
}

CURLcode layeron_curl_set_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

CURLcode layeron_curl_set_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}

CURLcode layeron_curl_set_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}

CURLcode layeron_curl_set_write_function(CURL *curl, size_t (*function)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, function);
}

CURLcode layeron_curl_get_response_code(CURL *curl, long *code) {
    return curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
}

CURLcode layeron_curl_set_header_function(CURL *curl, size_t (*function)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, function);
}

CURLcode layeron_curl_set_opensocket_function(CURL *curl, layeron_curl_opensocket_fn function) {
    return curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, function);
}

CURLMcode layeron_curl_multi_set_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

CURLcode layeron_curl_set_prereq_function(CURL *curl, layeron_curl_prereq_fn function) {
    return curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, function);
}

static int forward_fd = -1;
static pid_t forward_pid;

/* Async-signal-safe: getpid, write, signal and raise only, and errno kept. */
static void forward_signal(int number) {
    int saved = errno;
    if (getpid() != forward_pid) {
        signal(number, SIG_DFL);
        raise(number);
    } else {
        unsigned char byte = (unsigned char)number;
        ssize_t written = write(forward_fd, &byte, 1);
        (void)written;
    }
    errno = saved;
}

int layeron_signals_forward(const int *signals, int count, int fd) {
    forward_fd = fd;
    forward_pid = getpid();
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < count; i++) {
        if (sigaction(signals[i], &action, NULL) != 0) return -1;
    }
    return 0;
}

static void discard_signal(int number) {
    (void)number;
}

int layeron_signals_discard(int number) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = discard_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return sigaction(number, &action, NULL);
}

int layeron_flock(int fd, int operation) {
    return flock(fd, operation);
}

/* A list only ever prepended to, so the child handler walks it without a lock: after fork the
   child has one thread, and a node is complete before the exchange that links it. */
struct closed_in_children {
    int fd;
    struct closed_in_children *next;
};
static struct closed_in_children *_Atomic closed_in_children;
static pthread_once_t closed_in_children_once = PTHREAD_ONCE_INIT;
static int closed_in_children_registered = -1;

/* Async-signal-safe: close only. */
static void close_in_child(void) {
    for (struct closed_in_children *entry = atomic_load(&closed_in_children); entry != NULL; entry = entry->next) {
        close(entry->fd);
    }
}

static void register_close_in_child(void) {
    closed_in_children_registered = pthread_atfork(NULL, NULL, close_in_child) == 0 ? 0 : -1;
}

int layeron_close_in_forked_children(int fd) {
    pthread_once(&closed_in_children_once, register_close_in_child);
    if (closed_in_children_registered != 0) return -1;
    struct closed_in_children *entry = malloc(sizeof *entry);
    if (entry == NULL) return -1;
    entry->fd = fd;
    entry->next = atomic_load(&closed_in_children);
    while (!atomic_compare_exchange_weak(&closed_in_children, &entry->next, entry)) {}
    return 0;
}
