/* Text that leaves ycbg: the one exit path every string handed to a caller
 * goes through (error documents, yc_result, yc_output_text).
 *
 * Everything returned here is allocated with this library's own malloc()
 * (never Jansson's allocator, which a host may replace), so yc_free()'s
 * free() always matches, and every credential in it is masked.  When memory
 * runs out the functions return NULL; they never hand out the unmasked
 * text.  Internal to ycbg (not exported from libycbg.so). */
#ifndef YCTEXT_H
#define YCTEXT_H

#include <stddef.h>
#include <jansson.h>

/* An immutable list of secrets, masked in the order given (longest first,
 * so a secret that contains another is masked whole).  One block of memory;
 * safe to share between threads. */
typedef struct ycx_secrets ycx_secrets;

/* A copy of the `n` secrets (secrets[i] has lens[i] bytes; empty ones are
 * dropped).  NULL when memory runs out. */
ycx_secrets *ycx_secrets_new(const char *const *secrets, const size_t *lens, size_t n);
void ycx_secrets_free(ycx_secrets *s);

/* The mask that replaces each occurrence of a secret. */
#define YCX_MASK "[REDACTED]"

/* A malloc'd, NUL-terminated copy of text[0, len) with every occurrence of
 * each secret replaced by YCX_MASK (each secret in turn, on the previous
 * one's result); its length in *out_len when out_len is not NULL.  `s` NULL
 * masks nothing.  NULL when memory runs out. */
char *ycx_redacted_copy(const ycx_secrets *s, const char *text, size_t len, size_t *out_len);

/* The same for a malloc'd, NUL-terminated buffer of `len` bytes the call
 * takes over: returned as it is when no secret occurs in it, else freed.
 * NULL (and `owned` freed) when memory runs out. */
char *ycx_redacted(const ycx_secrets *s, char *owned, size_t len, size_t *out_len);

/* Compact JSON text (JSON_COMPACT | JSON_ENCODE_ANY) of `json` in a buffer
 * from this library's malloc(), NUL-terminated, its length in *out_len.
 * NULL when memory runs out. */
char *ycx_json_text(const json_t *json, size_t *out_len);

/* The exit for a JSON document: ycx_json_text, then ycx_redacted. */
char *ycx_export_json(const ycx_secrets *s, const json_t *json, size_t *out_len);

#endif
