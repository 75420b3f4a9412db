/* yc_client.c — the benchmark's ycbg client in C: every task through
 * yc_submit(), events collected with poll() on yc_client_fd() and
 * yc_next_events(), output_text read, tasks freed.
 *
 * usage: yc_client BASE_URL N HTTP_VERSION CA_FILE POLL_MS MAX_IN_FLIGHT
 * Prints one JSON line: {"ok", "failed", "cpu_s", "wall_s", "maxrss_kb",
 * "threads_before"}.  cpu_s is getrusage(RUSAGE_SELF) user+sys from just
 * before yc_client_new() to after yc_client_free(); maxrss_kb is ru_maxrss.
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ycbg.h"

#include "measure.h"


int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s BASE_URL N HTTP_VERSION CA_FILE POLL_MS MAX_IN_FLIGHT\n", argv[0]);
        return 2;
    }
    const char *base = argv[1], *version = argv[3], *ca = argv[4];
    int n = atoi(argv[2]), poll_ms = atoi(argv[5]), in_flight = atoi(argv[6]);
    if (n < 1) return 2;
    char config[2048];
    snprintf(config, sizeof config,
             "{\"base_url\":\"%s\",\"api_key\":\"test-key\",\"folder_id\":\"b1gbench\","
             "\"http_version\":\"%s\",%s%s%s\"poll_interval_ms\":%d,\"max_poll_interval_ms\":%d,"
             "\"max_in_flight\":%d}",
             base, version, *ca ? "\"ca_file\":\"" : "", ca, *ca ? "\"," : "",
             poll_ms, poll_ms, in_flight);
    yc_task **tasks = calloc((size_t)n, sizeof *tasks);
    yc_event *ev = calloc(256, sizeof *ev);
    if (!tasks || !ev) return 1;
    int threads_before = threads_now();
    struct rusage ru;
    double c0 = cpu_s(&ru), t0 = now_s();

    char *err = NULL;
    yc_client *client = yc_client_new(config, &err);
    if (!client) {
        fprintf(stderr, "yc_client_new: %s\n", err ? err : "?");
        return 1;
    }
    int fd = yc_client_fd(client);
    for (int i = 0; i < n; i++) {
        char req[128];
        snprintf(req, sizeof req, "{\"model\":\"yandexgpt\",\"input\":\"bench %d\"}", i);
        tasks[i] = yc_submit(client, req, (uint64_t)i, &err);
        if (!tasks[i]) {
            fprintf(stderr, "yc_submit: %s\n", err ? err : "?");
            return 1;
        }
    }
    int done = 0, ok = 0, failed = 0;
    double limit = t0 + 600;
    while (done < n && now_s() < limit) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0) continue;
        int got = yc_next_events(client, ev, 256, 0);
        for (int k = 0; k < got; k++) {
            done++;
            char *text = NULL;
            if (ev[k].status == YC_STATUS_COMPLETED && (text = yc_output_text(ev[k].task)) &&
                strncmp(text, "Echo: bench ", 12) == 0)
                ok++;
            else {
                failed++;
                if (failed <= 3)
                    fprintf(stderr, "task %llu: %s %s\n", (unsigned long long)ev[k].tag,
                            yc_status_name(ev[k].status), ev[k].error_json ? ev[k].error_json : "");
            }
            yc_free(text);
            yc_free(ev[k].error_json);
            yc_task_free(ev[k].task);
            tasks[ev[k].tag] = NULL;
        }
    }
    for (int i = 0; i < n; i++) yc_task_free(tasks[i]);
    yc_client_free(client);
    double t1 = now_s(), c1 = cpu_s(&ru);
    printf("{\"ok\":%d,\"failed\":%d,\"cpu_s\":%.6f,\"wall_s\":%.6f,\"maxrss_kb\":%ld,"
           "\"threads_before\":%d}\n",
           ok, n - ok, c1 - c0, t1 - t0, ru.ru_maxrss, threads_before);
    free(tasks);
    free(ev);
    return ok == n ? 0 : 1;
}
