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
} ycs_exchange;

ycs_exchange *ycs_exchange_new(void);
void ycs_exchange_free(ycs_exchange *x);
/* Empties the buffers (keeping their memory) and sets the body limit. */
void ycs_exchange_reset(ycs_exchange *x, size_t limit);
/* Points the handle's write, header and error-buffer options at `x`. */
CURLcode ycs_exchange_attach(CURL *h, ycs_exchange *x);

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
