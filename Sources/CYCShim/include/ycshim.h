/* Typed wrappers for libcurl's variadic calls and Jansson's macros, plus the
 * response buffers curl writes into, so that Swift never calls a C variadic
 * function or passes a Swift closure as a C callback. Internal to ycbg. */
#ifndef YCSHIM_H
#define YCSHIM_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include <jansson.h>

/* ---- version ---- */

/* "MAJOR.MINOR.PATCH" from the YCBG_VERSION_* macros of include/ycbg.h, the
 * one place the version is written.  Static string. */
const char *ycs_version_string(void);

/* ---- libcurl ---- */

/* The loaded libcurl's version number (0xMMmmpp) and text (NULL if unknown). */
unsigned ycs_curl_version(const char **text);
/* The loaded Jansson's version text; NULL if it is older than 2.13 (no
 * jansson_version_str). */
const char *ycs_jansson_version(void);

/* curl_global_init once per process (thread-safe). Returns CURLE_OK or the failure. */
CURLcode ycs_curl_global_init(void);

CURLcode ycs_setopt_long(CURL *h, CURLoption opt, long value);
CURLcode ycs_setopt_str(CURL *h, CURLoption opt, const char *value);
CURLcode ycs_setopt_ptr(CURL *h, CURLoption opt, void *value);
CURLcode ycs_setopt_off(CURL *h, CURLoption opt, curl_off_t value);
CURLcode ycs_getinfo_long(CURL *h, CURLINFO info, long *value);
CURLcode ycs_getinfo_off(CURL *h, CURLINFO info, curl_off_t *value);

/* What one transfer received: the body (bounded by `limit`), the header
 * block of the final response, and curl's error text. */
typedef struct ycs_exchange {
    char  *body;
    size_t body_len;
    size_t body_cap;
    size_t limit;        /* body bytes allowed; more sets over_limit and aborts */
    int    over_limit;
    char  *headers;      /* raw header lines of the last response, "\r\n"-separated */
    size_t headers_len;
    size_t headers_cap;
    char   errbuf[CURL_ERROR_SIZE];
    /* The request body given through a read function (ycs_exchange_upload). */
    char  *upload;
    size_t upload_len;
    size_t upload_pos;
    int    rewind_refused; /* libcurl asked to rewind the body and was told it cannot */
    int    stream_refused; /* an HTTP/2 server refused the stream (REFUSED_STREAM) */
} ycs_exchange;

ycs_exchange *ycs_exchange_new(void);
void ycs_exchange_free(ycs_exchange *x);
/* Empties the buffers (keeping their memory) and sets the body limit. */
void ycs_exchange_reset(ycs_exchange *x, size_t limit);
/* Points the handle's write, header and error-buffer options at `x`. */
CURLcode ycs_exchange_attach(CURL *h, ycs_exchange *x);
/* Makes `h` a POST whose body (a copy of `data`) libcurl reads through a read
 * function and cannot rewind: a seek function answers CURL_SEEKFUNC_CANTSEEK,
 * so libcurl can never resend the body on its own (a reused connection that
 * died fails with CURLE_SEND_FAIL_REWIND instead). */
CURLcode ycs_exchange_upload(CURL *h, ycs_exchange *x, const void *data, size_t len);
/* Points the handle's debug function at `x`: while CURLOPT_VERBOSE is on, it
 * notes in x->stream_refused when an HTTP/2 server refuses the request's
 * stream (RFC 9113 8.7: not processed, safe to resend).  libcurl says so only
 * in its informational text; the function reads nothing but that text
 * (headers and data are ignored).  VERBOSE is the caller's to turn on, for
 * the transfers that need it (it costs libcurl a formatted message per
 * step). */
CURLcode ycs_exchange_watch_refused_stream(CURL *h, ycs_exchange *x);

/* The content encodings the loaded libcurl decodes, as an Accept-Encoding
 * value ("deflate, gzip, br, zstd" at most); "" when it decodes none. */
const char *ycs_accept_encoding(void);

/* ---- libcurl multi ---- */

CURLMcode ycs_multi_setopt_long(CURLM *m, CURLMoption opt, long value);
/* The next finished transfer: its easy handle and result; 0 when none. */
int ycs_multi_next_done(CURLM *m, CURL **easy, CURLcode *result);

/* ---- the C ABI's yc_event (include/ycbg.h), laid out the same ---- */

typedef struct ycs_event {
    void    *task;
    uint64_t tag;
    int      status;
    char    *error_json;
} ycs_event;

/* ---- event fd ---- */

/* A non-blocking, close-on-exec eventfd; -1 on failure. */
int ycs_eventfd_new(void);
/* Makes the fd readable (adds 1 to its counter). */
void ycs_eventfd_raise(int fd);
/* Makes the fd not readable (reads its counter to zero). */
void ycs_eventfd_clear(int fd);

/* Fills buf with len bytes from the kernel's random generator (getrandom, in
 * as few calls as it takes); 0, or -1 if it failed. */
int ycs_random_bytes(void *buf, size_t len);

/* ---- Jansson ---- */

/* json_loadb with its error position flattened out (line/column are 1-based). */
json_t *ycs_json_loadb(const char *text, size_t len, int *line, int *column,
                       char *message, size_t message_cap);
int ycs_json_typeof(const json_t *j);
void ycs_json_decref(json_t *j);
json_t *ycs_json_incref(json_t *j);

/* ---- time ---- */

/* timegm() for an HTTP date's broken-down fields; -1 when out of range. */
int64_t ycs_timegm(int year, int month, int day, int hour, int minute, int second);

#endif
