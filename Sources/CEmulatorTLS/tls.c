/* See include/emulator_tls.h. */
#include "emulator_tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct yct_context {
    SSL_CTX *ctx;
};

struct yct_session {
    SSL *ssl;
    BIO *in;   /* ciphertext from the peer, read by OpenSSL */
    BIO *out;  /* ciphertext OpenSSL wrote for the peer */
    int closing;
};

/* ALPN protocol list in wire form, in the server's order of preference. */
static const unsigned char alpn_server[] = "\x02h2\x08http/1.1";

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    (void)arg;
    unsigned char *chosen = NULL;
    if (SSL_select_next_proto(&chosen, outlen, alpn_server, sizeof alpn_server - 1, in, inlen)
            != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;  /* nothing in common: no ALPN, the bytes decide */
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/* OpenSSL's error queue as one line (and emptied). */
static void take_errors(char *message, size_t cap, const char *what) {
    unsigned long code = ERR_get_error();
    char reason[200] = "";
    if (code) ERR_error_string_n(code, reason, sizeof reason);
    snprintf(message, cap, "%s%s%s", what, *reason ? ": " : "", reason);
    ERR_clear_error();
}

yct_context *yct_context_new(const char *cert_path, const char *key_path, char *message, size_t message_cap) {
    yct_context *context = calloc(1, sizeof *context);
    if (!context) {
        snprintf(message, message_cap, "out of memory");
        return NULL;
    }
    ERR_clear_error();
    context->ctx = SSL_CTX_new(TLS_server_method());
    if (!context->ctx) {
        take_errors(message, message_cap, "cannot make a TLS context");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(context->ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(context->ctx, cert_path) != 1) {
        take_errors(message, message_cap, "cannot read the PEM certificate chain");
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(context->ctx, key_path, SSL_FILETYPE_PEM) != 1) {
        take_errors(message, message_cap, "cannot read the PEM private key");
        goto fail;
    }
    if (SSL_CTX_check_private_key(context->ctx) != 1) {
        take_errors(message, message_cap, "the private key does not match the certificate");
        goto fail;
    }
    SSL_CTX_set_alpn_select_cb(context->ctx, select_alpn, NULL);
    /* Memory BIOs grow as needed: a write is always whole. */
    SSL_CTX_set_mode(context->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    return context;
fail:
    yct_context_free(context);
    return NULL;
}

void yct_context_free(yct_context *context) {
    if (!context) return;
    SSL_CTX_free(context->ctx);
    free(context);
}

yct_session *yct_session_new(yct_context *context) {
    yct_session *session = calloc(1, sizeof *session);
    if (!session) return NULL;
    session->ssl = SSL_new(context->ctx);
    session->in = BIO_new(BIO_s_mem());
    session->out = BIO_new(BIO_s_mem());
    if (!session->ssl || !session->in || !session->out) {
        BIO_free(session->in);
        BIO_free(session->out);
        SSL_free(session->ssl);
        free(session);
        return NULL;
    }
    /* An empty input BIO means "wait for more", not end of file. */
    BIO_set_mem_eof_return(session->in, -1);
    SSL_set_bio(session->ssl, session->in, session->out);  /* the SSL owns both now */
    SSL_set_accept_state(session->ssl);
    return session;
}

void yct_session_free(yct_session *session) {
    if (!session) return;
    SSL_free(session->ssl);
    free(session);
}

int yct_feed(yct_session *session, const void *data, size_t len) {
    while (len > 0) {
        int chunk = len > 1 << 30 ? 1 << 30 : (int)len;
        int n = BIO_write(session->in, data, chunk);
        if (n <= 0) return YCT_ERROR; /* out of memory */
        data = (const char *)data + n;
        len -= (size_t)n;
    }
    return 0;
}

/* What an SSL call's result `rc` means here (a failed session's errors are
 * dropped: the connection just closes, as a peer sees it). */
static int outcome(yct_session *session, int rc) {
    switch (SSL_get_error(session->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return YCT_WANT_MORE;
    case SSL_ERROR_ZERO_RETURN:
        return YCT_PEER_CLOSED;
    default:
        ERR_clear_error();
        return YCT_ERROR;
    }
}

int yct_advance(yct_session *session) {
    if (SSL_is_init_finished(session->ssl)) return 1;
    ERR_clear_error();
    int rc = SSL_do_handshake(session->ssl);
    return rc == 1 ? 1 : outcome(session, rc);
}

int yct_read(yct_session *session, void *buf, size_t cap) {
    ERR_clear_error();
    int rc = SSL_read(session->ssl, buf, cap > 1 << 30 ? 1 << 30 : (int)cap);
    return rc > 0 ? rc : outcome(session, rc);
}

int yct_write(yct_session *session, const void *data, size_t len) {
    while (len > 0) {
        ERR_clear_error();
        int rc = SSL_write(session->ssl, data, len > 1 << 30 ? 1 << 30 : (int)len);
        if (rc <= 0) {
            outcome(session, rc);
            return YCT_ERROR;
        }
        data = (const char *)data + rc;
        len -= (size_t)rc;
    }
    return 0;
}

void yct_close_notify(yct_session *session) {
    if (session->closing || !SSL_is_init_finished(session->ssl)) return;
    session->closing = 1;
    ERR_clear_error();
    SSL_shutdown(session->ssl);
    ERR_clear_error();
}

size_t yct_pending(yct_session *session) { return BIO_ctrl_pending(session->out); }

size_t yct_take(yct_session *session, void *buf, size_t cap) {
    int n = BIO_read(session->out, buf, cap > 1 << 30 ? 1 << 30 : (int)cap);
    return n > 0 ? (size_t)n : 0;
}
