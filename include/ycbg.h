/*
 * ycbg.h — Yandex Cloud AI Studio text generation in background mode.
 *
 * ycbg submits a Responses API request with "background": true, hands back a
 * task at once, and lets the caller poll or wait for the result without
 * holding a connection open while the model works:
 *
 *     yc_client *client = yc_client_new(NULL, &err);          // config from env
 *     yc_task   *task   = yc_create_background(client,
 *                             "{\"model\":\"yandexgpt\",\"input\":\"...\"}", &err);
 *     if (yc_wait(task, -1) == YC_STATUS_COMPLETED) {
 *         char *text = yc_output_text(task);
 *         puts(text);
 *         yc_free(text);
 *     }
 *     yc_task_free(task);
 *     yc_client_free(client);
 *
 * CONVENTIONS (they hold for every function below)
 *
 *   JSON at the boundary.  Configuration, requests, results and errors are
 *   UTF-8 JSON text.  No libcurl or Jansson type appears here.
 *
 *   Ownership.  Arguments are borrowed for the duration of the call only.
 *   Every `char *` returned, and every string stored through `error_json`, is
 *   owned by the caller and must be released with yc_free() (never free():
 *   the library may use another allocator).  These strings come from the
 *   library's own allocator whatever allocator the host installs for
 *   Jansson (json_set_alloc_funcs), so yc_free() always matches.  A
 *   `const char *` result is borrowed: it is static, or lives as long as the
 *   handle it came from.  Every *_free(NULL) is a no-op.
 *
 *   Errors.  Nothing here aborts, traps or prints, whatever the value of a
 *   numeric argument, config value or server header.  Constructors return NULL
 *   and describe the failure in `*error_json` (when `error_json` is not NULL);
 *   a task records the error of its last failed call in yc_result()'s
 *   "error".  An error document looks like
 *
 *       {"kind": "api", "message": "...", "http_status": 429,
 *        "code": "rate_limit_exceeded", "request_id": "...", "retryable": true}
 *
 *   "kind" (always present) is one of: invalid_argument, invalid_json,
 *   config, network, timeout, http, api, protocol, generation.
 *   "message" is always present and never contains the API key or IAM
 *   token (any credential of 6 or more characters is masked as
 *   "[REDACTED]" wherever it appears, also in server-echoed text).  The
 *   same masking covers every string the library returns (yc_result(),
 *   yc_output_text()).  When memory runs out while such a string is being
 *   made, the function gives NULL instead (for `error_json`: *error_json
 *   stays NULL while the function still reports its failure), never the
 *   unmasked text.
 *   "retryable" is always present.  "http_status", "code" and "request_id"
 *   are present when known.  A TLS certificate or host-name verification
 *   failure is kind "network" with "retryable": false, is never retried, and
 *   its message says which check failed (certificate not trusted, host name
 *   mismatch, certificate expired, ...).
 *
 *   Threads.  Every function may be called from any thread.  A client may be
 *   shared by any number of threads at once.  Calls on one task from several
 *   threads are serialized by the library.  There is no thread-local "last
 *   error", so callers whose threads migrate (Go) are safe.
 *
 *   Signals and processes.  The library installs no signal handlers and
 *   raises no signals.
 *
 *   Lifetime.  A task keeps its client alive: yc_client_free() may be called
 *   while tasks made from it still exist; the client's connections are
 *   released when its last task is freed.  Freeing a handle while another
 *   thread is inside a call on it is safe: the object goes when that call
 *   returns.
 *
 *   Handles.  A yc_client * or yc_task * is an opaque value, not the address
 *   of an object: never dereference it.  It names a slot in the library's
 *   table together with a generation that changes when the handle is freed,
 *   so a handle that was already freed is recognised and ignored even after
 *   a new handle took its slot: yc_task_free() and yc_client_free() of it do
 *   nothing, and every other call treats it like NULL.  A client handle is
 *   never taken for a task handle or the reverse.  (Not a license to use
 *   freed handles, but a mistake does not crash the host or reach another
 *   handle's object.)
 */
#ifndef YCBG_H
#define YCBG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The version of this header, the one place the project's version is
 * written.  yc_version() returns the version of the library actually loaded,
 * which may be newer: compare the two when a program needs a function that
 * a later MINOR added.
 */
#define YCBG_VERSION_MAJOR 0
#define YCBG_VERSION_MINOR 2
#define YCBG_VERSION_PATCH 0

/* A client: configuration plus a pool of reusable connections.  Thread-safe. */
typedef struct yc_client yc_client;

/* One background response on the server, identified by its response id. */
typedef struct yc_task yc_task;

/*
 * The state of a task.  COMPLETED, FAILED, CANCELLED and INCOMPLETE are
 * terminal: once a task reaches one, yc_poll(), yc_wait() and yc_cancel()
 * return it without any network request.
 */
typedef enum yc_status {
    YC_STATUS_ERROR       = -1, /* this call failed; see yc_result(...)["error"] */
    YC_STATUS_QUEUED      = 0,
    YC_STATUS_IN_PROGRESS = 1,
    YC_STATUS_COMPLETED   = 2,
    YC_STATUS_FAILED      = 3,
    YC_STATUS_CANCELLED   = 4,
    YC_STATUS_INCOMPLETE  = 5
} yc_status;

/* ---------------------------------------------------------------------- */
/* Library                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * The library version, "MAJOR.MINOR.PATCH" (the YCBG_VERSION_* macros the
 * library was built with).  Static string; never NULL.
 */
const char *yc_version(void);

/*
 * The lower-case name of a status: "queued", "in_progress", "completed",
 * "failed", "cancelled", "incomplete" or "error"; "unknown" for a value
 * outside the enum.  Static string; never NULL.
 */
const char *yc_status_name(yc_status s);

/*
 * Releases a string returned by this library (a `char *` result or an
 * `*error_json`).  NULL is a no-op.
 */
void yc_free(void *ptr);

/* ---------------------------------------------------------------------- */
/* Client                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * Creates a client.
 *
 * config_json: NULL, "{}" or a JSON object; every key is optional:
 *
 *   base_url             string  YC_BASE_URL, else https://ai.api.cloud.yandex.net/v1
 *   api_key              string  YC_API_KEY;  sent as "Authorization: Api-Key <key>"
 *   iam_token            string  YC_IAM_TOKEN; sent as "Authorization: Bearer <token>"
 *   folder_id            string  YC_FOLDER_ID; sent as "OpenAI-Project", and used to
 *                                expand model short names to gpt://<folder>/<model>
 *   timeout_ms           integer 600000, one whole HTTP request; 1 to 86400000
 *   connect_timeout_ms   integer 5000; 1 to 3600000
 *   max_retries          integer 2, retries after the first attempt; 0 to 100
 *   poll_interval_ms     integer 500, first yc_wait() interval; 1 to 3600000
 *   max_poll_interval_ms integer 5000, ceiling of the growing interval;
 *                                1 to 3600000, not below poll_interval_ms
 *   data_logging         bool    false sends "x-data-logging-enabled: false"
 *   user_agent           string  "ycbg/<version>"
 *   ca_file              string  PEM bundle to trust instead of the system store
 *   headers              object  extra request headers, string -> string
 *   max_response_bytes   integer 67108864; a larger answer is an error;
 *                                1 to 1099511627776 (1 TiB)
 *   allow_insecure_http  bool    false: plain http:// only to loopback hosts
 *   trust_idempotency_key bool   false: the server honours Idempotency-Key, so
 *                                a create whose answer was lost (reset, timeout,
 *                                5xx) may be resent with the same key
 *   http_version         string  "auto": HTTP/2 over TLS (ALPN), HTTP/1.1 over
 *                                plain http; "1.1"; "2" (over plain http: HTTP/2
 *                                with prior knowledge)
 *   max_in_flight        integer 64 (1..10000): HTTP requests the client runs
 *                                at once, creates, polls and cancels together
 *   max_creates_per_second number 0 (no fixed limit); 0, or 0.001 to 1000000
 *   max_polls_per_second number  0 (no fixed limit); 0, or 0.001 to 1000000;
 *                                either kind is also slowed for the whole
 *                                client after a 429
 *   task_timeout_ms      integer -1 (none): a submitted or watched task not
 *                                terminal after this long gets an ERROR event,
 *                                kind "timeout"; -1 to 31536000000 (a year)
 *
 * A key given in config_json wins over its environment variable.  Exactly
 * one credential is required: api_key or iam_token from config_json, or,
 * only if config_json gives neither, YC_API_KEY or YC_IAM_TOKEN.  Unknown
 * keys, wrong types, both credentials, none, an unusable base_url, and
 * credentials over plain http:// to a non-loopback host are errors of kind
 * "config" naming the key; these are detected here, before any connection.
 * An integer key outside the range given above, or given as a number with a
 * fraction or an exponent (1.5, 1e3), is a "config" error naming the key
 * and its range; an integer too large for 64 bits is not JSON the library
 * reads: kind "invalid_json" with its line and column.
 *
 * The libcurl and Jansson loaded at run time are checked here too: a
 * libcurl older than 7.85.0 or a Jansson older than 2.13 is a "config"
 * error naming the library, the version found and the minimum.
 *
 * Returns the client, or NULL on failure.  When error_json is not NULL it
 * receives NULL on success, or an error document the caller releases with
 * yc_free() (NULL if memory ran out while making it; see CONVENTIONS).  No
 * network request is made.
 */
yc_client *yc_client_new(const char *config_json, char **error_json);

/*
 * Releases the caller's reference to a client.  Tasks made from it stay
 * valid; its connections close when the last of them is freed.  NULL is a
 * no-op.  Do not use `client` after this call.
 */
void yc_client_free(yc_client *client);

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * Starts a background response: POST {base_url}/responses.
 *
 * request_json: a JSON object in the Responses API shape ("model", "input",
 * "instructions", "max_output_tokens", "temperature", "text", "tools", ...),
 * forwarded unchanged except that "background" is forced to true and a
 * "model" without "://" ("yandexgpt", "yandexgpt/latest") becomes
 * "gpt://<folder_id>/<model>" (kind "config" if no folder id is known).
 * Text that is not JSON is kind "invalid_json" with line and column; JSON
 * that is not an object is kind "invalid_argument".
 *
 * The request carries an Idempotency-Key that stays the same on its
 * retries.  It may go out on a reused connection, but is never resent
 * unseen: if that connection dies before an answer, the create fails
 * (kind "network", retryable, saying the job may exist).  It is retried (up to max_retries) only when the server
 * provably did not start a job: no connection could be made, or it answered
 * 429 or 503 — unless the config sets trust_idempotency_key, which says the
 * server returns the first job for a repeated key, so a create is then
 * retried like a retrieve and the caller still gets its id.
 *
 * So, without trust_idempotency_key, a create whose request reached the
 * server but whose answer was lost (a reset, a timeout or an answer cut
 * short after sending), or that a gateway answered 502 or 504 (it may have
 * passed the request on before failing), is not retried.  Its error, as any
 * create error of that kind once retries are spent, says in its message
 * that the job may exist on the server; a 502, 504, reset or timeout stays
 * "retryable" (a later call may succeed), but resending that create may
 * start a second job.
 *
 * Returns the task once the server has answered with a response id, holding
 * the status the server reported (usually YC_STATUS_QUEUED); NULL on
 * failure, with *error_json as for yc_client_new().  Free the task with
 * yc_task_free().  Blocks for at most about (max_retries + 1) * timeout_ms
 * plus retry delays.
 */
yc_task *yc_create_background(yc_client *client, const char *request_json,
                              char **error_json);

/*
 * Makes a task for an existing response id (one saved by another process,
 * say) and fetches its state once: GET {base_url}/responses/{id}.
 *
 * Returns NULL and an error (kind "api", http_status 404, for an unknown id)
 * if the id is empty or unusable, or the request fails.
 */
yc_task *yc_attach(yc_client *client, const char *response_id,
                   char **error_json);

/*
 * The server's response id.  Borrowed; lives as long as the task.  NULL if
 * task is NULL.
 */
const char *yc_task_id(const yc_task *task);

/*
 * One refresh: GET {base_url}/responses/{id}, retried per the retry policy
 * (connection errors other than certificate failures, timeouts, 408, 409,
 * 429, >= 500, honouring Retry-After / retry-after-ms / x-should-retry).
 *
 * Returns the status.  On a terminal task, returns it with no request.  On
 * failure returns YC_STATUS_ERROR and records the error (yc_result()'s
 * "error"); the task keeps its last status from the server and a later
 * yc_poll() may succeed.
 */
yc_status yc_poll(yc_task *task);

/*
 * Polls until the task is terminal or timeout_ms milliseconds have passed
 * (timeout_ms < 0: no limit; every value of long is accepted, and one whose
 * deadline lies beyond the clock's range, LONG_MAX say, waits without a
 * limit too).  Polls follow a schedule kept in the task: the interval starts
 * at poll_interval_ms and grows by half up to max_poll_interval_ms, and the
 * server's openai-poll-after-ms / Retry-After hints replace it when given
 * (a hint is capped at 120 s; one that is not a number >= 0 is ignored).
 * Because the schedule lives in the task, waiting in short slices (to stay
 * responsive to Ctrl-C or a context) polls no more often than one long wait;
 * timeout_ms == 0 polls once if a poll is due and never sleeps.
 *
 * It never sleeps, and never starts a request, past the deadline.  A request
 * already under way finishes within timeout_ms (it is not cut at the
 * deadline, so that short slices work against a slow server); set a smaller
 * timeout_ms in the config for a tighter bound.
 *
 * Returns the terminal status; the last status from the server when the
 * time ran out (non-terminal); YC_STATUS_ERROR on a non-retryable failure
 * (the error is in yc_result()).  Retryable failures are recorded and
 * polling goes on.
 */
yc_status yc_wait(yc_task *task, long timeout_ms);

/*
 * Asks the server to stop the response: POST {base_url}/responses/{id}/cancel.
 * Best effort: a response that finished first stays completed.  Returns the
 * status the server reports afterwards, the status itself with no request
 * for a terminal task, or YC_STATUS_ERROR (error recorded) on failure.
 */
yc_status yc_cancel(yc_task *task);

/*
 * A JSON snapshot of the task, owned by the caller (yc_free()):
 *
 *   {"id": "...",
 *    "status": "queued|in_progress|completed|failed|cancelled|incomplete",
 *    "output_text": "...",     "" until there is output
 *    "usage": {...} | null,    as the server reported it
 *    "error": {...} | null,    the last call's error if it failed, else the
 *                              task's "generation" error if it ended failed
 *                              or incomplete, else null
 *    "response": {...} | null} the last Response object from the server
 *
 * "output_text" is the server's output_text when present, otherwise the
 * concatenation of the text of every output_text part of every message in
 * "output" (as the OpenAI SDKs compute it).
 *
 * NULL only when task is NULL or memory is exhausted.
 */
char *yc_result(yc_task *task);

/*
 * The result's "output_text" as a plain UTF-8 string ("" until there is
 * output), owned by the caller (yc_free()).  NULL only when task is NULL or
 * memory is exhausted.
 */
char *yc_output_text(yc_task *task);

/*
 * The same text as yc_output_text(), all of it: generated text may contain
 * NUL characters ("\u0000" in the JSON), and yc_output_text() can only be
 * read up to the first one.  Returns the whole text (the "output_text" of
 * yc_result(), credentials masked the same way) followed by one terminating
 * NUL, owned by the caller (yc_free()).  When `length` is not NULL, *length
 * receives the number of bytes before that terminating NUL (it may count
 * NULs inside the text).  Returns NULL, with *length set to 0, when task is
 * NULL or memory is exhausted.
 */
char *yc_output_text_len(yc_task *task, size_t *length);

/*
 * Frees a task.  The response on the server is not cancelled or deleted.
 * A task the client drives (yc_submit, yc_watch) stops being driven, and its
 * event, if not yet taken, is dropped.  NULL is a no-op.  Do not use `task`
 * after this call.
 */
void yc_task_free(yc_task *task);

/*
 * The same as yc_poll(), yc_wait() and yc_cancel(), and when they return
 * YC_STATUS_ERROR, *error_json receives the error of this very call (an
 * error document the caller releases with yc_free()), whatever other
 * threads do on the task meanwhile; NULL otherwise.  error_json may be NULL.
 * A NULL or freed task gives YC_STATUS_ERROR and an "invalid_argument"
 * error.
 */
yc_status yc_poll_ex(yc_task *task, char **error_json);
yc_status yc_wait_ex(yc_task *task, long timeout_ms, char **error_json);
yc_status yc_cancel_ex(yc_task *task, char **error_json);

/* ---------------------------------------------------------------------- */
/* Many tasks: submit, watch, events                                       */
/* ---------------------------------------------------------------------- */

/*
 * A client can drive any number of tasks itself, from one I/O thread of its
 * own (started on first use) over libcurl's multi interface: it sends their
 * creates, polls each on its schedule until it is terminal, and then posts
 * one event per task.  The caller collects events with yc_next_events(), or
 * waits for yc_client_fd() to become readable first.  Every request of the
 * client, the blocking calls' included, shares its connections and its
 * limits: at most max_in_flight at once, creates and polls paced by
 * max_creates_per_second / max_polls_per_second, and slowed for the whole
 * client after a 429 (honouring Retry-After), then sped up again.
 *
 * On a driven task, yc_wait() waits for the client's own polling (it sends
 * no request of its own), yc_poll() refreshes at once, and yc_cancel()
 * sends the cancel at once, never waiting behind a yc_wait() in another
 * thread, which then returns the status the cancel brought (CANCELLED, or
 * the terminal status the server reports).
 *
 * After yc_client_free(), the client's events are no longer delivered; its
 * driven tasks go on being polled for yc_wait() / yc_poll() / yc_cancel(),
 * and its thread and connections go when its last task is freed.  After
 * fork(), the child's first call on a client gives it a thread, event fd and
 * connections of its own; the parent's are left alone.
 */

/* One finished task, as yc_next_events() hands it out. */
typedef struct yc_event {
    yc_task   *task;        /* borrowed: valid until the caller's yc_task_free() */
    uint64_t   tag;         /* the caller's tag from yc_submit() / yc_watch() */
    yc_status  status;      /* a terminal status, or YC_STATUS_ERROR */
    char      *error_json;  /* when status is ERROR: owned, release with yc_free(); else NULL */
} yc_event;

/*
 * Checks a create request at once, exactly as yc_create_background() does
 * (JSON, object, model expansion, "stream"), and returns a task without
 * waiting for the network: on failure NULL and an error in *error_json
 * (as for yc_client_new()), and nothing is sent.  The client then sends the
 * create (resent like yc_create_background()'s, and after a 429 as long as
 * it takes), polls the task until it is terminal, and posts exactly one
 * event for it with `tag`.
 *
 * Until the server has answered the create, yc_task_id() returns NULL, the
 * status is YC_STATUS_QUEUED and yc_result()'s "id" is null; if the create
 * fails for good they stay so, the event has YC_STATUS_ERROR and the error,
 * and yc_result()'s "error" says why.  Free the task with yc_task_free().
 */
yc_task *yc_submit(yc_client *client, const char *request_json, uint64_t tag,
                   char **error_json);

/*
 * The client drives a task made by yc_create_background() or yc_attach()
 * from now on, and posts exactly one event with `tag` when it is terminal
 * (at once if it already is).  Returns 0, or -1 for a NULL or freed task, or
 * one already submitted or watched (a task is driven at most once).
 *
 * A driven task's event comes when it reaches a terminal status, or with
 * YC_STATUS_ERROR and the error when its create failed for good, a poll
 * failed with a non-retryable error (401, 404, a malformed answer, ...), or
 * task_timeout_ms passed.  Retryable failures (network, timeout, 429, 5xx)
 * never end a driven task: it is polled again after a back-off.  The task
 * records each answer and error as yc_poll() would, so yc_result() and
 * yc_output_text() work on it.
 */
int yc_watch(yc_task *task, uint64_t tag);

/*
 * Moves up to max_events pending events of the client into `events`,
 * waiting up to timeout_ms for at least one (0: no wait; < 0: no limit).
 * Returns how many it stored, 0 when none came in time (or the client was
 * freed), -1 for a NULL or freed client, NULL events or max_events < 1.
 * Any thread may call it; each event is handed out once.  Events of a task
 * freed before they were taken are dropped.
 */
int yc_next_events(yc_client *client, yc_event *events, int max_events,
                   long timeout_ms);

/*
 * A file descriptor that is readable while at least one event of the client
 * is pending, and not readable once yc_next_events() has taken them all
 * (level-triggered: safe for select(), poll(), epoll, asyncio add_reader, Go's
 * and tokio's pollers).  Owned by the client: do not read, write or close
 * it.  -1 for a NULL or freed client.
 */
int yc_client_fd(yc_client *client);

#ifdef __cplusplus
}
#endif

#endif /* YCBG_H */
