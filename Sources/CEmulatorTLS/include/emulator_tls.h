/* The emulator's TLS (--tls-cert/--tls-key) over the system's OpenSSL: a
 * server session that reads and writes memory buffers, so that a SwiftNIO
 * handler (TLSHandler.swift) moves the bytes.  Every function is for one
 * thread at a time per session (a connection's event loop). */
#ifndef YC_EMULATOR_TLS_H
#define YC_EMULATOR_TLS_H

#include <stddef.h>

typedef struct yct_context yct_context;
typedef struct yct_session yct_session;

/* A server context: the PEM certificate chain and private key from these
 * files, TLS 1.2 or newer, ALPN "h2" before "http/1.1" (a client offering
 * neither still connects).  NULL on failure, with the reason in `message`. */
yct_context *yct_context_new(const char *cert_path, const char *key_path, char *message, size_t message_cap);
void yct_context_free(yct_context *context);

/* A session for one accepted connection (NULL when out of memory). */
yct_session *yct_session_new(yct_context *context);
void yct_session_free(yct_session *session);

/* Ciphertext read from the peer.  0, or -1 when out of memory. */
int yct_feed(yct_session *session, const void *data, size_t len);

/* Results of yct_advance and yct_read. */
#define YCT_WANT_MORE 0     /* needs more bytes from the peer */
#define YCT_ERROR (-1)      /* a TLS error: the connection must close */
#define YCT_PEER_CLOSED (-2) /* the peer sent close_notify */

/* Runs the handshake on what was fed: 1 once it is complete (and on every
 * call after), YCT_WANT_MORE or YCT_ERROR. */
int yct_advance(yct_session *session);

/* Plaintext after the handshake: up to `cap` bytes into `buf`; returns the
 * count (> 0), YCT_WANT_MORE, YCT_PEER_CLOSED or YCT_ERROR. */
int yct_read(yct_session *session, void *buf, size_t cap);

/* Encrypts `len` bytes of plaintext (after the handshake): 0 or YCT_ERROR. */
int yct_write(yct_session *session, const void *data, size_t len);

/* Queues a close_notify alert (once). */
void yct_close_notify(yct_session *session);

/* Ciphertext waiting to go to the peer: how many bytes, and taking them. */
size_t yct_pending(yct_session *session);
size_t yct_take(yct_session *session, void *buf, size_t cap);

#endif
