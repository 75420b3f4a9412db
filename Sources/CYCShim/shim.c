#define _GNU_SOURCE
#include "ycshim.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The version is written once, in the public header. */
#include "../../include/ycbg.h"

#define YCS_STR_(x) #x
#define YCS_STR(x) YCS_STR_(x)

const char *ycs_version_string(void) {
    return YCS_STR(YCBG_VERSION_MAJOR) "." YCS_STR(YCBG_VERSION_MINOR) "." YCS_STR(YCBG_VERSION_PATCH);
}

/* The oldest libraries ycbg builds against (yc_client_new checks the ones
 * loaded at run time; ycbg.pc declares them too):
 *   libcurl 7.85.0: CURLOPT_PROTOCOLS_STR (and curl_multi_poll 7.66,
 *                   curl_multi_wakeup 7.68, CURLE_HTTP3 7.68);
 *   Jansson 2.13:   jansson_version_str (the run-time check), json_dumpb
 *                   2.10, thread-safe reference counts 2.11. */
#if LIBCURL_VERSION_NUM < 0x075500
#error "ycbg needs libcurl 7.85.0 or newer"
#endif
#if JANSSON_VERSION_HEX < 0x020d00
#error "ycbg needs Jansson 2.13 or newer"
#endif

/* Weak, so that an older Jansson (without it) loads and is reported as too
 * old instead of failing at the first call. */
#pragma weak jansson_version_str

unsigned ycs_curl_version(const char **text) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    if (!info) { *text = NULL; return 0; }
    *text = info->version;
    return info->version_num;
}

const char *ycs_jansson_version(void) {
    return jansson_version_str ? jansson_version_str() : NULL;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result = CURLE_FAILED_INIT;

static void global_init(void) { global_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

CURLcode ycs_curl_global_init(void) {
    pthread_once(&global_once, global_init);
    return global_result;
}

CURLcode ycs_setopt_long(CURL *h, CURLoption opt, long v) { return curl_easy_setopt(h, opt, v); }
CURLcode ycs_setopt_str(CURL *h, CURLoption opt, const char *v) { return curl_easy_setopt(h, opt, v); }
CURLcode ycs_setopt_ptr(CURL *h, CURLoption opt, void *v) { return curl_easy_setopt(h, opt, v); }
CURLcode ycs_setopt_off(CURL *h, CURLoption opt, curl_off_t v) { return curl_easy_setopt(h, opt, v); }
CURLcode ycs_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
CURLcode ycs_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }

/* Appends to a growable buffer, keeping a NUL after the data. 0 on OOM. */
static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t want = *cap ? *cap : 4096;
        while (want < *len + n + 1) want *= 2;
        char *grown = realloc(*buf, want);
        if (!grown) return 0;
        *buf = grown;
        *cap = want;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
    ycs_exchange *x = userp;
    size_t n = size * nmemb;
    if (x->body_len + n > x->limit) {
        x->over_limit = 1;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    return append(&x->body, &x->body_len, &x->body_cap, data, n) ? n : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp) {
    ycs_exchange *x = userp;
    size_t n = size * nmemb;
    /* A new status line starts a new response (after 100 Continue, say). */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) x->headers_len = 0;
    if (x->headers_len + n > 1024 * 1024) return 0; /* absurd header block */
    return append(&x->headers, &x->headers_len, &x->headers_cap, data, n) ? n : 0;
}

ycs_exchange *ycs_exchange_new(void) { return calloc(1, sizeof(ycs_exchange)); }

void ycs_exchange_free(ycs_exchange *x) {
    if (!x) return;
    free(x->upload);
    free(x->body);
    free(x->headers);
    free(x);
}

void ycs_exchange_reset(ycs_exchange *x, size_t limit) {
    x->body_len = 0;
    x->headers_len = 0;
    if (x->body) x->body[0] = '\0';
    if (x->headers) x->headers[0] = '\0';
    x->limit = limit;
    x->over_limit = 0;
    x->errbuf[0] = '\0';
    free(x->upload);
    x->upload = NULL;
    x->upload_len = x->upload_pos = 0;
    x->rewind_refused = 0;
    x->stream_refused = 0;
    /* Don't keep a huge buffer alive in an idle pooled handle. */
    if (x->body_cap > 1024 * 1024) {
        free(x->body);
        x->body = NULL;
        x->body_cap = 0;
    }
}

CURLcode ycs_exchange_attach(CURL *h, ycs_exchange *x) {
    CURLcode rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body))) return rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, x))) return rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header))) return rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_HEADERDATA, x))) return rc;
    return curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
}

static size_t on_read(char *buffer, size_t size, size_t nitems, void *userp) {
    ycs_exchange *x = userp;
    size_t room = size * nitems, left = x->upload_len - x->upload_pos;
    size_t n = left < room ? left : room;
    if (n) memcpy(buffer, x->upload + x->upload_pos, n);
    x->upload_pos += n;
    return n;
}

static int on_seek(void *userp, curl_off_t offset, int origin) {
    ycs_exchange *x = userp;
    (void)offset;
    (void)origin;
    x->rewind_refused = 1;
    return CURL_SEEKFUNC_CANTSEEK;
}

CURLcode ycs_exchange_upload(CURL *h, ycs_exchange *x, const void *data, size_t len) {
    CURLcode rc;
    free(x->upload);
    x->upload = malloc(len ? len : 1);
    if (!x->upload) return CURLE_OUT_OF_MEMORY;
    if (len) memcpy(x->upload, data, len);
    x->upload_len = len;
    x->upload_pos = 0;
    x->rewind_refused = 0;
    if ((rc = curl_easy_setopt(h, CURLOPT_POST, 1L))) return rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len))) return rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read))) return rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_READDATA, x))) return rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek))) return rc;
    return curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *userp) {
    ycs_exchange *x = userp;
    static const char needle[] = "REFUSED_STREAM";
    (void)h;
    if (type == CURLINFO_TEXT && memmem(data, size, needle, sizeof needle - 1)) x->stream_refused = 1;
    return 0;
}

CURLcode ycs_exchange_watch_refused_stream(CURL *h, ycs_exchange *x) {
    CURLcode rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug))) return rc;
    return curl_easy_setopt(h, CURLOPT_DEBUGDATA, x);
}

static pthread_once_t encodings_once = PTHREAD_ONCE_INIT;
static char encodings[64];

static void find_encodings(void) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    int features = info ? info->features : 0;
    encodings[0] = '\0';
    /* libcurl's own order for CURLOPT_ACCEPT_ENCODING "". */
    if (features & CURL_VERSION_LIBZ) strcat(encodings, "deflate, gzip");
    if (features & CURL_VERSION_BROTLI) strcat(encodings, encodings[0] ? ", br" : "br");
    if (features & CURL_VERSION_ZSTD) strcat(encodings, encodings[0] ? ", zstd" : "zstd");
}

const char *ycs_accept_encoding(void) {
    pthread_once(&encodings_once, find_encodings);
    return encodings;
}

CURLMcode ycs_multi_setopt_long(CURLM *m, CURLMoption opt, long v) { return curl_multi_setopt(m, opt, v); }

int ycs_multi_next_done(CURLM *m, CURL **easy, CURLcode *result) {
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &left))) {
        if (msg->msg == CURLMSG_DONE) {
            *easy = msg->easy_handle;
            *result = msg->data.result;
            return 1;
        }
    }
    return 0;
}

int ycs_eventfd_new(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

void ycs_eventfd_raise(int fd) {
    uint64_t one = 1;
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR) {}
}

void ycs_eventfd_clear(int fd) {
    uint64_t v;
    while (read(fd, &v, sizeof v) < 0 && errno == EINTR) {}
}

int ycs_random_bytes(void *buf, size_t len) {
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

json_t *ycs_json_loadb(const char *text, size_t len, int *line, int *column,
                       char *message, size_t message_cap) {
    json_error_t err;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!j) {
        *line = err.line;
        *column = err.column;
        if (message_cap) {
            strncpy(message, err.text, message_cap - 1);
            message[message_cap - 1] = '\0';
        }
    }
    return j;
}

int ycs_json_typeof(const json_t *j) { return j ? (int)json_typeof(j) : -1; }

void ycs_json_decref(json_t *j) { json_decref(j); }
json_t *ycs_json_incref(json_t *j) { return json_incref(j); }

int64_t ycs_timegm(int year, int month, int day, int hour, int minute, int second) {
    struct tm t;
    memset(&t, 0, sizeof t);
    t.tm_year = year - 1900;
    t.tm_mon = month - 1;
    t.tm_mday = day;
    t.tm_hour = hour;
    t.tm_min = minute;
    t.tm_sec = second;
    time_t v = timegm(&t);
    return (int64_t)v;
}
