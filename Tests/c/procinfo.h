/*
 * procinfo.h — what this process holds, read from /proc/self: resident and
 * peak memory, open file descriptors, threads.  Header-only (static inline)
 * so that test programs that need it just include it; used by
 * test_reliability.c and test_soak.c.
 */
#ifndef YCBG_TEST_PROCINFO_H
#define YCBG_TEST_PROCINFO_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Resident set size in KiB (/proc/self/statm), 0 if unreadable. */
static inline long pi_rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A "Name:   value" field of /proc/self/status as a number, -1 if absent. */
static inline long pi_status_field(const char *name) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long out = -1;
    size_t n = strlen(name);
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            out = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return out;
}

/* Peak resident set size (VmHWM) in KiB. */
static inline long pi_hwm_kib(void) { return pi_status_field("VmHWM"); }

/* Threads of this process. */
static inline long pi_threads(void) { return pi_status_field("Threads"); }

/* Open file descriptors, not counting the directory stream used to count. */
static inline int pi_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1;
}

/* Memory numbers mean nothing under AddressSanitizer / ThreadSanitizer
 * (shadow memory, quarantine) or valgrind; run.sh sets YCBG_MEMORY_NO_RSS=1
 * for valgrind, and sanitizer builds are recognised here. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PI_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PI_SANITIZED 1
#endif
#endif
#ifndef PI_SANITIZED
#define PI_SANITIZED 0
#endif

static inline bool pi_rss_meaningful(void) {
    const char *e = getenv("YCBG_MEMORY_NO_RSS");
    return !PI_SANITIZED && !(e && *e && strcmp(e, "0") != 0);
}

#endif
