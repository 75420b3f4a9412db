/* test_versions.c — the minimum libcurl and Jansson versions, checked at run
 * time by yc_client_new.  A child of this program runs with
 * build/tests/libycbg_old_versions.so preloaded (old_versions.c), which
 * makes curl_version_info / jansson_version_str report an older version;
 * yc_client_new must then fail with a `config` error that names the
 * library, the version found and the minimum.  The child prints what
 * yc_client_new gave; the parent checks it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef YCBG_TESTS_OUT
#error "YCBG_TESTS_OUT (the directory of the preload library) is set by Tests/c/Makefile"
#endif

/* This program's own path, to run it again as the child (not
 * /proc/self/exe: under valgrind that is valgrind's tool). */
static char self[4096];

#define CONFIG "{\"base_url\": \"http://127.0.0.1:9/v1\", \"api_key\": \"versions-key\"}"

/* The child: one yc_client_new, its error document (or "OK") on stdout. */
static int child(void) {
    char *err = NULL;
    yc_client *c = yc_client_new(CONFIG, &err);
    if (c) {
        fputs("OK\n", stdout);
        yc_client_free(c);
    } else {
        fputs(err ? err : "(no error document)", stdout);
        fputc('\n', stdout);
        yc_free(err);
    }
    return 0;
}

/* Runs this program as the child with the fakes in the environment
 * ("" for none) and returns what it printed (free()), or NULL. */
static char *run_child(const char *fake_curl, const char *fake_jansson) {
    int out[2];
    if (pipe(out) != 0) return NULL;
    pid_t pid = fork();
    if (pid < 0) return NULL;
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        char *preload = th_strdup_printf("%s/libycbg_old_versions.so", YCBG_TESTS_OUT);
        setenv("LD_PRELOAD", preload, 1);
        if (*fake_curl) setenv("YCBG_FAKE_CURL", fake_curl, 1); else unsetenv("YCBG_FAKE_CURL");
        if (*fake_jansson) setenv("YCBG_FAKE_JANSSON", fake_jansson, 1); else unsetenv("YCBG_FAKE_JANSSON");
        /* AddressSanitizer wants to come first; the preload is a plain library. */
        const char *asan = getenv("ASAN_OPTIONS");
        char *opts = th_strdup_printf("%s%sverify_asan_link_order=0", asan ? asan : "", asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        char *argv[] = {"test_versions", "--child", NULL};
        execv(self, argv);
        _exit(127);
    }
    close(out[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) break;
            buf = grown;
        }
        ssize_t n = read(out[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(out[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        th_note("child exited with status %d: %s", status, buf);
        free(buf);
        return NULL;
    }
    return buf;
}

static void expect_version_error(const char *fake_curl, const char *fake_jansson, const char *library,
                                 const char *found, const char *minimum, const char *file, int line) {
    char *printed = run_child(fake_curl, fake_jansson);
    if (!printed) {
        th_fail(file, line, "the child (curl %s, jansson %s) did not run", fake_curl, fake_jansson);
        return;
    }
    json_t *e = th_parse(printed);
    if (!e) {
        th_fail(file, line, "curl %s, jansson %s: yc_client_new gave no error: %s", fake_curl, fake_jansson, printed);
        free(printed);
        return;
    }
    th_check_error_shape(e, file, line);
    const char *m = jstr(e, "message");
    if (strcmp(err_kind(e), "config") != 0) th_fail(file, line, "kind %s: %s", err_kind(e), m ? m : "");
    const char *needles[] = {library, found, minimum};
    for (size_t i = 0; i < 3; i++)
        if (!m || !strstr(m, needles[i])) th_fail(file, line, "the message does not name \"%s\": %s", needles[i], m ? m : "");
    if (!json_is_false(json_object_get(e, "retryable"))) th_fail(file, line, "a version error is retryable");
    json_decref(e);
    free(printed);
}
#define EXPECT_VERSION_ERROR(curl, jansson, library, found, minimum) \
    expect_version_error((curl), (jansson), (library), (found), (minimum), __FILE__, __LINE__)

TEST(the_real_libraries_are_new_enough) {
    /* With the preload but no fakes: the real versions pass. */
    char *printed = run_child("", "");
    REQUIRE(printed, "the child did not run");
    CHECK_STR(printed, "OK\n");
    free(printed);
    /* And in this process, without the preload. */
    char *err = NULL;
    yc_client *c = yc_client_new(CONFIG, &err);
    CHECK(c != NULL, "yc_client_new: %s", err ? err : "");
    yc_free(err);
    yc_client_free(c);
}

TEST(an_old_libcurl_is_a_config_error) {
    EXPECT_VERSION_ERROR("7.61.0", "", "libcurl", "7.61.0", "7.85.0");
    EXPECT_VERSION_ERROR("7.84.99", "", "libcurl", "7.84.99", "7.85.0");
    EXPECT_VERSION_ERROR("6.255.255", "", "libcurl", "6.255.255", "7.85.0");
    /* The minimum itself and newer pass. */
    char *printed = run_child("7.85.0", "");
    CHECK(printed && strcmp(printed, "OK\n") == 0, "7.85.0: %s", printed ? printed : "(no child)");
    free(printed);
    printed = run_child("8.0.0", "");
    CHECK(printed && strcmp(printed, "OK\n") == 0, "8.0.0: %s", printed ? printed : "(no child)");
    free(printed);
}

TEST(an_old_jansson_is_a_config_error) {
    EXPECT_VERSION_ERROR("", "2.9", "Jansson", "2.9", "2.13");
    EXPECT_VERSION_ERROR("", "2.12.1", "Jansson", "2.12.1", "2.13");
    EXPECT_VERSION_ERROR("", "1.99", "Jansson", "1.99", "2.13");
    /* Not a version at all. */
    EXPECT_VERSION_ERROR("", "banana", "Jansson", "banana", "2.13");
    char *printed = run_child("", "2.13");
    CHECK(printed && strcmp(printed, "OK\n") == 0, "2.13: %s", printed ? printed : "(no child)");
    free(printed);
    printed = run_child("", "3.0.0");
    CHECK(printed && strcmp(printed, "OK\n") == 0, "3.0.0: %s", printed ? printed : "(no child)");
    free(printed);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--child") == 0) return child();
    if (!realpath(argv[0], self)) {
        fprintf(stderr, "test_versions: cannot resolve %s\n", argv[0]);
        return 1;
    }
    return th_main(argc, argv);
}
