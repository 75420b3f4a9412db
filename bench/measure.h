/* measure.h — what both C benchmark clients measure about themselves:
 * monotonic time, own CPU time (and the rusage it came from), threads. */
#ifndef YCBG_BENCH_MEASURE_H
#define YCBG_BENCH_MEASURE_H

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* user+sys CPU of this process, seconds; fills *ru (ru_maxrss is read too). */
static inline double cpu_s(struct rusage *ru) {
    getrusage(RUSAGE_SELF, ru);
    return ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
           ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

/* The Threads: line of /proc/self/status; -1 if unreadable. */
static inline int threads_now(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    fclose(f);
    return n;
}

#endif
