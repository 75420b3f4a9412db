/* test_soak.c — 20,000 tasks through ONE shared client from 8 threads while
 * the emulator injects faults at random; every task must complete with its
 * own echo, and memory, file descriptors and threads must stay flat.
 *
 * Faults (probability, never used up):
 *   5 %  503 with retry-after-ms: 1 on any request (create and retrieve);
 *   1 %  connection reset, 1 % malformed 200 body, on retrieves only.
 * A create answered with a reset or a malformed body may already have
 * started its job on the server; by contract the library does not retry
 * such a create (that could start the job twice) and reports the error, so
 * those faults are kept to retrieves, where a retry is always safe.  A 503
 * on a create says the job was not started, and is retried.
 *
 * The library retries the 503s and resets itself (max_retries 5); a
 * malformed body is a non-retryable protocol error, so yc_wait returns
 * YC_STATUS_ERROR and the worker waits again (the task keeps its status).
 *
 * Measured after the first 1,000 tasks (warm: pool and caches filled) and
 * at the end, both with the worker threads joined: RSS may grow by at most
 * 32 MiB, open fds by 16, threads by 2.
 *
 * YCBG_SOAK_TASKS overrides the number of tasks (default 20000); the warm
 * measurement is taken after min(1000, tasks / 2).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "procinfo.h"

#define THREADS 8
#define MAX_RSS_GROWTH_KIB (32 * 1024)
#define MAX_FD_GROWTH 16
#define MAX_THREAD_GROWTH 2

typedef struct {
    yc_client *client;
    atomic_int next;  /* the next task number to run */
    int limit;        /* run tasks below this number */
    atomic_int completed, failed;
    atomic_long wait_errors;   /* yc_wait returning YC_STATUS_ERROR (then retried) */
    atomic_long wait_timeouts; /* yc_wait returning non-terminal (then retried) */
    atomic_long protocol, network, api_http, timeout_errs, other_errs;
    atomic_int reported; /* failure messages printed so far */
} soak_t;

static int soak_tasks(void) {
    const char *e = getenv("YCBG_SOAK_TASKS");
    int n = e ? atoi(e) : 0;
    return n > 0 ? n : 20000;
}

static void failure(soak_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failure(soak_t *s, const char *fmt, ...) {
    atomic_fetch_add(&s->failed, 1);
    if (atomic_fetch_add(&s->reported, 1) >= 10) return; /* the count says the rest */
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    th_fail(__FILE__, __LINE__, "%s", msg);
}

static void count_error(soak_t *s, yc_task *t) {
    char *r = yc_result(t);
    json_t *doc = th_parse(r);
    const char *kind = err_kind(json_object_get(doc, "error"));
    if (strcmp(kind, "protocol") == 0) atomic_fetch_add(&s->protocol, 1);
    else if (strcmp(kind, "network") == 0) atomic_fetch_add(&s->network, 1);
    else if (strcmp(kind, "api") == 0 || strcmp(kind, "http") == 0) atomic_fetch_add(&s->api_http, 1);
    else if (strcmp(kind, "timeout") == 0) atomic_fetch_add(&s->timeout_errs, 1);
    else atomic_fetch_add(&s->other_errs, 1);
    json_decref(doc);
    yc_free(r);
}

static void run_task(soak_t *s, int i) {
    char req[160], want[64];
    snprintf(req, sizeof req, "{\"model\": \"yandexgpt\", \"input\": \"soak task %d\"}", i);
    snprintf(want, sizeof want, "Echo: soak task %d", i);
    char *err = NULL;
    yc_task *t = yc_create_background(s->client, req, &err);
    if (!t) {
        failure(s, "task %d: create failed: %s", i, err ? err : "(no error)");
        yc_free(err);
        return;
    }
    yc_status st = YC_STATUS_ERROR;
    for (int round = 0; round < 200; round++) {
        st = yc_wait(t, 60000);
        if (st == YC_STATUS_COMPLETED) break;
        if (st == YC_STATUS_ERROR) {
            atomic_fetch_add(&s->wait_errors, 1);
            count_error(s, t);
            continue;
        }
        if (st == YC_STATUS_QUEUED || st == YC_STATUS_IN_PROGRESS) {
            atomic_fetch_add(&s->wait_timeouts, 1);
            continue;
        }
        break; /* another terminal status: wrong */
    }
    char *text = yc_output_text(t);
    if (st != YC_STATUS_COMPLETED) {
        char *r = yc_result(t);
        failure(s, "task %d (%s): ended %s: %.400s", i, yc_task_id(t), yc_status_name(st), r ? r : "");
        yc_free(r);
    } else if (!text || strcmp(text, want) != 0) {
        failure(s, "task %d: output \"%.200s\", want \"%s\"", i, text ? text : "(null)", want);
    } else {
        atomic_fetch_add(&s->completed, 1);
    }
    yc_free(text);
    yc_task_free(t);
}

static void *worker(void *arg) {
    soak_t *s = arg;
    for (;;) {
        int i = atomic_fetch_add(&s->next, 1);
        if (i >= s->limit) break;
        run_task(s, i);
    }
    return NULL;
}

/* Runs tasks [s->next, limit) on THREADS threads and joins them. */
static void run_phase(soak_t *s, int limit) {
    s->limit = limit;
    pthread_t th[THREADS];
    int started = 0;
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&th[i], NULL, worker, s) == 0) started++;
        else th_fail(__FILE__, __LINE__, "pthread_create failed");
    }
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    /* Each thread took one number past the limit on its way out. */
    atomic_store(&s->next, limit);
}

typedef struct {
    long rss_kib, threads;
    int fds;
} sample_t;

static sample_t sample(void) { return (sample_t){pi_rss_kib(), pi_threads(), pi_open_fds()}; }

TEST(soak_one_client_eight_threads_with_faults) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 2");
    REQUIRE(emu);
    REQUIRE(emu_settings(emu, "{\"queue_ms\": 0, \"work_ms\": 2}"));
    REQUIRE(emu_fault(emu, "[{\"match\": \"any\", \"kind\": \"status\", \"status\": 503, \"probability\": 0.05, "
                           "\"retry_after_ms\": \"1\"},"
                           " {\"match\": \"retrieve\", \"kind\": \"reset\", \"probability\": 0.01},"
                           " {\"match\": \"retrieve\", \"kind\": \"malformed\", \"probability\": 0.01}]"));
    char *cfg = th_strdup_printf("{\"base_url\": \"%s\", \"api_key\": \"%s\", \"folder_id\": \"b1gtestfolder\", "
                                 "\"max_retries\": 5, \"timeout_ms\": 15000, \"poll_interval_ms\": 2, "
                                 "\"max_poll_interval_ms\": 10}",
                                 emu->base_url, emu->api_key);
    char *err = NULL;
    yc_client *client = yc_client_new(cfg, &err);
    free(cfg);
    REQUIRE(client, "yc_client_new: %s", err ? err : "");
    yc_free(err);

    int total = soak_tasks();
    int warm = total >= 2000 ? 1000 : total / 2;
    soak_t s = {.client = client};
    atomic_init(&s.next, 0);
    sample_t base = sample();
    double t0 = th_now_ms();
    run_phase(&s, warm);
    double t_warm = th_now_ms();
    sample_t m1 = sample();
    run_phase(&s, total);
    double t_end = th_now_ms();
    sample_t m2 = sample();

    long creates = emu_stat(emu, "requests.create"), retrieves = emu_stat(emu, "requests.retrieve");
    long conns = emu_stat(emu, "connections"), faults = emu_stat(emu, "faults_applied");
    double secs = (t_end - t0) / 1000.0;
    th_note("tasks %d: completed %d, failed %d in %.1f s (%.0f tasks/s); warm-up of %d took %.1f s", total,
            atomic_load(&s.completed), atomic_load(&s.failed), secs, total / secs, warm, (t_warm - t0) / 1000.0);
    th_note("API requests %ld (creates %ld, retrieves %ld) = %.0f requests/s over %ld connections; %ld faults injected",
            creates + retrieves, creates, retrieves, (creates + retrieves) / secs, conns, faults);
    th_note("yc_wait returned error %ld times (protocol %ld, network %ld, api/http %ld, timeout %ld, other %ld), "
            "ran out of time %ld times; every one was waited on again",
            atomic_load(&s.wait_errors), atomic_load(&s.protocol), atomic_load(&s.network), atomic_load(&s.api_http),
            atomic_load(&s.timeout_errs), atomic_load(&s.other_errs), atomic_load(&s.wait_timeouts));
    th_note("before: rss %ld KiB, fds %d, threads %ld", base.rss_kib, base.fds, base.threads);
    th_note("after %5d tasks: rss %ld KiB, fds %d, threads %ld", warm, m1.rss_kib, m1.fds, m1.threads);
    th_note("after %5d tasks: rss %ld KiB, fds %d, threads %ld (growth: rss %+ld KiB, fds %+d, threads %+ld)", total,
            m2.rss_kib, m2.fds, m2.threads, m2.rss_kib - m1.rss_kib, m2.fds - m1.fds, m2.threads - m1.threads);
    printf("# soak: tasks=%d seconds=%.1f tasks_per_s=%.0f requests=%ld requests_per_s=%.0f rss_warm_kib=%ld "
           "rss_end_kib=%ld fds_warm=%d fds_end=%d threads_warm=%ld threads_end=%ld\n",
           total, secs, total / secs, creates + retrieves, (creates + retrieves) / secs, m1.rss_kib, m2.rss_kib, m1.fds,
           m2.fds, m1.threads, m2.threads);

    CHECK_INT(atomic_load(&s.completed), total);
    CHECK_INT(atomic_load(&s.failed), 0);
    /* Not one job started twice: one response per task. */
    CHECK_INT(emu_stat(emu, "responses"), total);
    CHECK(faults > 0, "no fault was injected");
    CHECK(atomic_load(&s.other_errs) == 0, "unexpected error kinds in yc_wait (%ld)", atomic_load(&s.other_errs));
    if (pi_rss_meaningful())
        CHECK(m2.rss_kib - m1.rss_kib <= MAX_RSS_GROWTH_KIB, "RSS grew by %ld KiB from task %d to task %d",
              m2.rss_kib - m1.rss_kib, warm, total);
    CHECK(m2.fds - m1.fds <= MAX_FD_GROWTH, "open fds grew from %d to %d", m1.fds, m2.fds);
    CHECK(m2.threads - m1.threads <= MAX_THREAD_GROWTH, "threads grew from %ld to %ld", m1.threads, m2.threads);
    yc_client_free(client);
}

int main(int argc, char **argv) { return th_main(argc, argv); }
