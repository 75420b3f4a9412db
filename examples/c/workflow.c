/* The seed workflow: submit a background response, poll its status every
 * YCBG_POLL_SECONDS seconds (default 2), print the result.
 * Configuration comes from the environment: YC_BASE_URL, YC_API_KEY (or
 * YC_IAM_TOKEN), YC_FOLDER_ID. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ycbg.h>

static void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Writes `s` as a JSON string literal body (escapes quotes, backslashes and
 * control characters). */
static void json_escape(char *out, size_t cap, const char *s) {
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { out[n++] = '\\'; out[n++] = (char)c; }
        else if (c < 0x20) n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        else out[n++] = (char)c;
    }
    out[n] = '\0';
}

static int fail(const char *what, char *error_json) {
    fprintf(stderr, "%s failed: %s\n", what, error_json ? error_json : "(no details)");
    yc_free(error_json);
    return 1;
}

int main(int argc, char **argv) {
    const char *input = argc > 1 ? argv[1]
        : "Summarise in one sentence: background mode lets a client submit a long job and poll for it.";
    const char *poll_env = getenv("YCBG_POLL_SECONDS");
    long poll_ms = poll_env ? (long)(atof(poll_env) * 1000) : 2000;
    char *err = NULL;

    yc_client *client = yc_client_new(NULL, &err);
    if (!client) return fail("yc_client_new", err);

    /* The request is a Responses API object; "yandexgpt/latest" becomes
     * gpt://<folder>/yandexgpt/latest and "background": true is added. */
    char escaped[2048], request[4096];
    json_escape(escaped, sizeof escaped, input);
    snprintf(request, sizeof request,
             "{\"model\": \"yandexgpt/latest\", \"input\": \"%s\"}", escaped);

    yc_task *task = yc_create_background(client, request, &err);
    if (!task) { yc_client_free(client); return fail("yc_create_background", err); }
    printf("Task sent: %s\n", yc_task_id(task));

    yc_status status;
    for (;;) {
        status = yc_poll(task);
        if (status == YC_STATUS_ERROR) {
            char *result = yc_result(task);   /* the error is in result["error"] */
            fprintf(stderr, "poll failed: %s\n", result);
            yc_free(result);
            sleep_ms(poll_ms);
            continue;
        }
        printf("Status: %s\n", yc_status_name(status));
        fflush(stdout);
        if (status != YC_STATUS_QUEUED && status != YC_STATUS_IN_PROGRESS) break;
        sleep_ms(poll_ms);
    }

    int rc = 0;
    if (status == YC_STATUS_COMPLETED) {
        char *text = yc_output_text(task);
        printf("Final response: %s\n", text);
        yc_free(text);
    } else {
        char *result = yc_result(task);
        fprintf(stderr, "The response ended %s: %s\n", yc_status_name(status), result);
        yc_free(result);
        rc = 1;
    }
    yc_task_free(task);
    yc_client_free(client);
    return rc;
}
