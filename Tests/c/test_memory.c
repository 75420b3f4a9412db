/* test_memory.c — resident memory and file descriptors stay flat over many
 * create → wait → free cycles, and over many failing calls.
 *
 * YCBG_MEMORY_CYCLES (default 2000) sets the number of cycles; the first
 * measurement is taken after a tenth of them (200 by default), when caches
 * and the connection pool are warm. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "procinfo.h"

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory stream itself */
}

static int cycles(void) {
    const char *e = getenv("YCBG_MEMORY_CYCLES");
    int n = e ? atoi(e) : 0;
    return n > 0 ? n : 2000;
}

/* Up to 16 MiB of RSS growth and 4 fds between the two measurements.  RSS
 * says nothing under AddressSanitizer (freed memory waits in its quarantine)
 * or valgrind; there LeakSanitizer / memcheck judge memory instead, and
 * YCBG_MEMORY_NO_RSS=1 (set by run.sh) or an ASan build skips the RSS check. */

#define MAX_RSS_GROWTH_KIB (16 * 1024)
#define MAX_FD_GROWTH 4

static bool one_cycle(yc_client *client, int i) {
    char req[192];
    /* Even cycles take 2 ms on the server, so that yc_wait has to poll. */
    snprintf(req, sizeof req, "{\"model\": \"yandexgpt\", \"input\": \"cycle %d\"%s}", i,
             i % 2 == 0 ? ", \"metadata\": {\"emulator_work_ms\": \"2\"}" : "");
    char *err = NULL;
    yc_task *t = yc_create_background(client, req, &err);
    if (!t) {
        th_fail(__FILE__, __LINE__, "cycle %d: create failed: %s", i, err ? err : "");
        yc_free(err);
        return false;
    }
    yc_status s = yc_wait(t, 10000);
    char *text = yc_output_text(t);
    char *result = yc_result(t);
    char want[64];
    snprintf(want, sizeof want, "Echo: cycle %d", i);
    bool ok = s == YC_STATUS_COMPLETED && text && strcmp(text, want) == 0 && result;
    if (!ok) th_fail(__FILE__, __LINE__, "cycle %d: %s, output %s", i, yc_status_name(s), text ? text : "(null)");
    yc_free(text);
    yc_free(result);
    yc_task_free(t);
    return ok;
}

TEST(create_wait_free_cycles_stay_flat) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 0");
    REQUIRE(emu);
    emu_settings(emu, "{\"queue_ms\": 0, \"work_ms\": 0}");
    yc_client *client = client_for(emu, "\"poll_interval_ms\": 1, \"max_poll_interval_ms\": 5");
    REQUIRE(client);
    int n = cycles();
    int warm = n / 10 > 0 ? n / 10 : 1;
    long rss_warm = 0;
    int fds_warm = 0;
    long polls = 0;
    double t0 = th_now_ms();
    for (int i = 1; i <= n; i++) {
        if (!one_cycle(client, i)) break;
        /* Every 50th cycle also makes and frees a client of its own. */
        if (i % 50 == 0) {
            yc_client *c2 = client_for(emu, NULL);
            if (c2) one_cycle(c2, -i);
            yc_client_free(c2);
        }
        if (i % 100 == 0) {
            polls += emu_stat(emu, "requests.retrieve");
            emu_reset(emu); /* keeps the emulator's own store small */
            emu_settings(emu, "{\"queue_ms\": 0, \"work_ms\": 0}");
        }
        if (i == warm) {
            rss_warm = rss_kib();
            fds_warm = open_fds();
        }
    }
    long rss_end = rss_kib();
    int fds_end = open_fds();
    double dt = th_now_ms() - t0;
    polls += emu_stat(emu, "requests.retrieve");
    th_note("%ld retrieves in %d cycles", polls, n);
    th_note("cycles %d in %.1f s; RSS after %d: %ld KiB, after %d: %ld KiB (growth %ld KiB); fds %d -> %d", n,
            dt / 1000, warm, rss_warm, n, rss_end, rss_end - rss_warm, fds_warm, fds_end);
    printf("# memory: cycles=%d rss_warm_kib=%ld rss_end_kib=%ld rss_growth_kib=%ld fds_warm=%d fds_end=%d\n", n,
           rss_warm, rss_end, rss_end - rss_warm, fds_warm, fds_end);
    if (pi_rss_meaningful())
        CHECK(rss_end - rss_warm < MAX_RSS_GROWTH_KIB, "RSS grew by %ld KiB over %d cycles", rss_end - rss_warm,
              n - warm);
    else
        th_note("RSS not judged in this build (sanitizer or YCBG_MEMORY_NO_RSS)");
    CHECK(fds_end - fds_warm <= MAX_FD_GROWTH, "open fds grew from %d to %d", fds_warm, fds_end);
    yc_client_free(client);
}

TEST(failing_calls_stay_flat) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 0");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    int n = cycles() / 2;
    int warm = n / 10 > 0 ? n / 10 : 1;
    long rss_warm = 0;
    int fds_warm = 0;
    for (int i = 1; i <= n; i++) {
        char *err = NULL;
        /* Config errors, JSON errors, 404s and 5xx. */
        yc_client *bad = yc_client_new("{\"api_key\": \"k\", \"nope\": 1}", &err);
        yc_client_free(bad);
        yc_free(err);
        err = NULL;
        yc_task *t = yc_create_background(client, "{\"model\": ", &err);
        yc_task_free(t);
        yc_free(err);
        err = NULL;
        t = yc_attach(client, "00000000-0000-4000-8000-000000000000", &err);
        yc_task_free(t);
        yc_free(err);
        if (i % 10 == 0) {
            emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 500}");
            err = NULL;
            t = yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", &err);
            if (t || !err) th_fail(__FILE__, __LINE__, "a 500 on create did not fail");
            yc_task_free(t);
            yc_free(err);
        }
        if (i == warm) {
            rss_warm = rss_kib();
            fds_warm = open_fds();
        }
    }
    long rss_end = rss_kib();
    int fds_end = open_fds();
    th_note("%d rounds of failing calls: RSS %ld -> %ld KiB (growth %ld KiB), fds %d -> %d", n, rss_warm, rss_end,
            rss_end - rss_warm, fds_warm, fds_end);
    if (pi_rss_meaningful()) CHECK(rss_end - rss_warm < MAX_RSS_GROWTH_KIB, "RSS grew by %ld KiB", rss_end - rss_warm);
    CHECK(fds_end - fds_warm <= MAX_FD_GROWTH, "open fds grew from %d to %d", fds_warm, fds_end);
    yc_client_free(client);
}

int main(int argc, char **argv) { return th_main(argc, argv); }
