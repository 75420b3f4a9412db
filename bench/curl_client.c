/* curl_client.c — the benchmark's floor: a raw libcurl multi loop doing the
 * same workflow with no library.  It sends every create, then polls each
 * task POLL_MS after its last answer until it is terminal, and reads
 * output_text (Jansson, as the library does).  At most MAX_IN_FLIGHT
 * requests at once; one multi handle, so connections are reused (HTTP/2:
 * multiplexed, CURLOPT_PIPEWAIT); easy handles are recycled.  No retries:
 * the emulator runs without faults.
 *
 * usage: curl_client BASE_URL N HTTP_VERSION CA_FILE POLL_MS MAX_IN_FLIGHT
 * HTTP_VERSION: "1.1" or "2" (HTTP/2 over TLS by ALPN).  Prints the same JSON
 * line as yc_client.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "measure.h"

typedef struct {
    int task;          /* index */
    int is_create;
    CURL *easy;
    char *buf;
    size_t len, cap;
} req_t;

typedef struct {
    char id[64];
    double due;        /* next poll, seconds */
} task_t;


static size_t on_data(char *p, size_t sz, size_t nm, void *ud) {
    req_t *r = ud;
    size_t add = sz * nm;
    if (r->len + add + 1 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4096;
        while (cap < r->len + add + 1) cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b) return 0;
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, add);
    r->len += add;
    r->buf[r->len] = 0;
    return add;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s BASE_URL N HTTP_VERSION CA_FILE POLL_MS MAX_IN_FLIGHT\n", argv[0]);
        return 2;
    }
    const char *base = argv[1], *ca = argv[4];
    int n = atoi(argv[2]), poll_ms = atoi(argv[5]), max_in_flight = atoi(argv[6]);
    long version = strcmp(argv[3], "1.1") == 0 ? CURL_HTTP_VERSION_1_1 : CURL_HTTP_VERSION_2TLS;
    if (n < 1 || max_in_flight < 1) return 2;
    int threads_before = threads_now();
    struct rusage ru;
    double c0 = cpu_s(&ru), t0 = now_s();

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)max_in_flight);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Authorization: Api-Key test-key");
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    task_t *tasks = calloc((size_t)n, sizeof *tasks);
    int *pollq = malloc(sizeof(int) * (size_t)n); /* FIFO: due times only grow */
    req_t *pool = calloc((size_t)max_in_flight, sizeof *pool);
    req_t **free_reqs = malloc(sizeof(req_t *) * (size_t)max_in_flight);
    if (!tasks || !pollq || !pool || !free_reqs) return 1;
    int nfree = 0;
    for (int i = 0; i < max_in_flight; i++) {
        pool[i].easy = curl_easy_init();
        free_reqs[nfree++] = &pool[i];
    }
    char create_url[1024], body[128];
    snprintf(create_url, sizeof create_url, "%s/responses", base);
    int next_create = 0, qhead = 0, qtail = 0, inflight = 0, done = 0, ok = 0;
    double limit = t0 + 600;

    while (done < n && now_s() < limit) {
        double now = now_s();
        while (nfree > 0 && (next_create < n || (qhead < qtail && tasks[pollq[qhead % n]].due <= now))) {
            req_t *r = free_reqs[--nfree];
            CURL *e = r->easy;
            curl_easy_reset(e);
            r->len = 0;
            char url[1200];
            if (next_create < n) {
                r->task = next_create++;
                r->is_create = 1;
                snprintf(body, sizeof body,
                         "{\"model\":\"gpt://b1gbench/yandexgpt\",\"input\":\"bench %d\",\"background\":true}",
                         r->task);
                curl_easy_setopt(e, CURLOPT_URL, create_url);
                curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
            } else {
                r->task = pollq[qhead++ % n];
                r->is_create = 0;
                snprintf(url, sizeof url, "%s/responses/%s", base, tasks[r->task].id);
                curl_easy_setopt(e, CURLOPT_URL, url);
            }
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
            curl_easy_setopt(e, CURLOPT_HTTP_VERSION, version);
            curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
            if (*ca) curl_easy_setopt(e, CURLOPT_CAINFO, ca);
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
            curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
            curl_easy_setopt(e, CURLOPT_PRIVATE, r);
            curl_multi_add_handle(multi, e);
            inflight++;
        }
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            req_t *r;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            long code = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            CURLcode res = m->data.result;
            curl_multi_remove_handle(multi, m->easy_handle);
            inflight--;
            task_t *t = &tasks[r->task];
            json_t *doc = (res == CURLE_OK && code == 200 && r->buf) ? json_loads(r->buf, 0, NULL) : NULL;
            const char *status = json_string_value(json_object_get(doc, "status"));
            if (!doc || !status) {
                fprintf(stderr, "task %d: curl %d http %ld\n", r->task, (int)res, code);
                done++;
            } else {
                if (r->is_create)
                    snprintf(t->id, sizeof t->id, "%s", json_string_value(json_object_get(doc, "id")));
                if (!strcmp(status, "queued") || !strcmp(status, "in_progress")) {
                    t->due = now_s() + poll_ms / 1000.0;
                    pollq[qtail++ % n] = r->task;
                } else {
                    const char *text = json_string_value(json_object_get(doc, "output_text"));
                    if (!strcmp(status, "completed") && text && !strncmp(text, "Echo: bench ", 12)) ok++;
                    done++;
                }
            }
            json_decref(doc);
            free_reqs[nfree++] = r;
        }
        int wait_ms = 100;
        if (next_create >= n && qhead < qtail && nfree > 0) {
            double d = (tasks[pollq[qhead % n]].due - now_s()) * 1000;
            wait_ms = d < 0 ? 0 : d > 100 ? 100 : (int)d + 1;
        } else if (next_create < n && nfree > 0) {
            wait_ms = 0;
        }
        curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
    }
    for (int i = 0; i < max_in_flight; i++) {
        curl_multi_remove_handle(multi, pool[i].easy);
        curl_easy_cleanup(pool[i].easy);
        free(pool[i].buf);
    }
    curl_multi_cleanup(multi);
    curl_slist_free_all(hdrs);
    curl_global_cleanup();
    double t1 = now_s(), c1 = cpu_s(&ru);
    printf("{\"ok\":%d,\"failed\":%d,\"cpu_s\":%.6f,\"wall_s\":%.6f,\"maxrss_kb\":%ld,"
           "\"threads_before\":%d}\n",
           ok, n - ok, c1 - c0, t1 - t0, ru.ru_maxrss, threads_before);
    free(tasks); free(pollq); free(pool); free(free_reqs);
    (void)inflight;
    return ok == n ? 0 : 1;
}
