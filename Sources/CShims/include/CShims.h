/* The few C calls Swift cannot make directly (variadic, or declared only under _GNU_SOURCE), and a
   signal handler and a fork handler, which must be async-signal-safe and so cannot be Swift. */
#ifndef LAYERON_CSHIMS_H
#define LAYERON_CSHIMS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <curl/curl.h>

/* Limits and threading a listener starts with. */
typedef struct layeron_mhd_options {
    unsigned int thread_pool_size;      /* worker threads, each with its own epoll loop */
    unsigned int connection_timeout_s;  /* idle connections are closed after this many seconds */
    size_t connection_memory_limit;     /* per-connection buffer for headers and parsing */
    unsigned int connection_limit;      /* concurrent connections across the pool, split evenly
                                           between the workers; MHD_add_connection closes one
                                           handed over when no worker's count is under its share */
    unsigned int per_address_limit;     /* concurrent connections from one client address, 0 for no cap;
                                           one past it is closed at once, and libmicrohttpd logs
                                           "Server reached connection limit" */
} layeron_mhd_options;

/* Called with the raw request URI (path and query, as sent) before headers are parsed; what it
   returns becomes the request's initial context pointer. */
typedef void *(*layeron_mhd_uri_callback)(void *cls, const char *uri, struct MHD_Connection *connection);

/* Receives each message libmicrohttpd would otherwise print to standard error, formatted, without
   its trailing newline. */
typedef void (*layeron_mhd_log_callback)(void *cls, const char *message);

/* Where a daemon's messages go; must outlive the daemon. */
typedef struct layeron_mhd_log_target {
    layeron_mhd_log_callback callback;
    void *cls;
} layeron_mhd_log_target;

/* Starts a daemon with MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
   MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET: it has no listening socket, and serves the connections
   given to MHD_add_connection (from any thread; the socket must be non-blocking, and is
   libmicrohttpd's, closed by it, from the call on, whatever it returns).
   All request and connection callbacks receive `cls`; libmicrohttpd's own messages, including why a
   start failed, go to `log`. `connections` is told of each connection's start and close, on the
   thread that serves it; libmicrohttpd 0.9.75 tells of the close before it closes the socket, so the
   socket number is the connection's own until that call has returned. */
struct MHD_Daemon *layeron_mhd_start(const layeron_mhd_options *options, void *cls,
                                     layeron_mhd_uri_callback uri_callback,
                                     MHD_AccessHandlerCallback handler,
                                     MHD_RequestCompletedCallback completed,
                                     MHD_NotifyConnectionCallback connections,
                                     const layeron_mhd_log_target *log);

/* accept4 (which glibc declares only under _GNU_SOURCE, so Swift does not see it) on `listening`,
   the new socket non-blocking and close-on-exec: the socket, or -1 with errno set. `address`
   receives the client's address and `length` its size. */
int layeron_accept(int listening, struct sockaddr_storage *address, socklen_t *length);

/* The connection's socket, or -1 when unknown. */
int layeron_mhd_connection_socket(struct MHD_Connection *connection);

/* What the connection callback stored for the connection at its start, or NULL. */
void *layeron_mhd_socket_context(struct MHD_Connection *connection);

/* Copies the client's address into `address`; false when libmicrohttpd has none. */
bool layeron_mhd_client_address(struct MHD_Connection *connection, struct sockaddr_storage *address);

CURLcode layeron_curl_set_long(CURL *curl, CURLoption option, long value);
CURLcode layeron_curl_set_string(CURL *curl, CURLoption option, const char *value);
CURLcode layeron_curl_set_pointer(CURL *curl, CURLoption option, void *value);
CURLcode layeron_curl_set_write_function(CURL *curl, size_t (*function)(char *, size_t, size_t, void *));
CURLcode layeron_curl_get_response_code(CURL *curl, long *code);

/* For outbound deliveries on the multi interface. */
typedef curl_socket_t (*layeron_curl_opensocket_fn)(void *clientp, curlsocktype purpose, struct curl_sockaddr *address);
CURLcode layeron_curl_set_header_function(CURL *curl, size_t (*function)(char *, size_t, size_t, void *));
CURLcode layeron_curl_set_opensocket_function(CURL *curl, layeron_curl_opensocket_fn function);
CURLMcode layeron_curl_multi_set_long(CURLM *multi, CURLMoption option, long value);
/* Runs once the connection is ready, new or reused from the cache, before the request is sent. */
typedef int (*layeron_curl_prereq_fn)(void *clientp, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port, int conn_local_port);
CURLcode layeron_curl_set_prereq_function(CURL *curl, layeron_curl_prereq_fn function);

/* Forwards each of `signals` to `fd`: a handler (SA_RESTART) writes the signal's number there as one
   byte, dropped if the pipe is full. A thread that reads `fd` can then act on them with locks and
   logging, which a handler cannot. In a process forked from this one and not yet exec'd (a plugin's
   helper), the handler restores the default action and raises the signal again, so the child stops
   as a plain process would and never writes to this process's pipe. Returns 0, or -1 with errno set
   by sigaction. */
int layeron_signals_forward(const int *signals, int count, int fd);

/* Ignores `number` in this process while the programs it (or a plugin) executes start with the
   default action: an ignored signal stays ignored across exec, a caught one is reset. For SIGPIPE: a
   write to a closed socket or pipe fails with EPIPE here, and a plugin's `cmd | head` still ends
   `cmd`. Returns 0, or -1 with errno set by sigaction. */
int layeron_signals_discard(int number);

/* flock(2), which Swift cannot name: `struct flock` (for fcntl) hides the function. */
int layeron_flock(int fd, int operation);

/* Has every child this process forks afterwards close `fd` at once (a pthread_atfork child handler;
   an exec'd child loses it through O_CLOEXEC already). For the database file's flock, which belongs
   to the open file description: a child a plugin forks without exec would share it and keep the
   database locked after the server is gone. A descriptor stays registered for the process's life;
   0, or -1 when the handler could not be registered. */
int layeron_close_in_forked_children(int fd);

#endif
