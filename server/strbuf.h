/* SPDX-License-Identifier: MIT
 *
 * strbuf: a growable byte buffer, embedded by value (curl's dynbuf shape).
 * strbuf_init cannot fail; an append that cannot allocate marks the buffer
 * failed (sb->oom) and later appends are no-ops, so callers check once at
 * the end. The buffer is always NUL-terminated once anything was appended.
 */
#ifndef SERVER_STRBUF_H
#define SERVER_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
    bool oom;
};

void strbuf_init(struct strbuf *sb);
/* Frees the buffer; the struct may be reused after strbuf_init. */
void strbuf_cleanup(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
/* Makes room for 'extra' more bytes and the terminator in one allocation
 * of exactly that size (appends grow by doubling otherwise), so a buffer
 * filled to a known length costs that length; false, marking the buffer
 * failed, when out of memory. */
bool strbuf_reserve(struct strbuf *sb, size_t extra);
void strbuf_append(struct strbuf *sb, const void *data, size_t len);
void strbuf_append_str(struct strbuf *sb, const char *s);
void strbuf_append_char(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Takes the buffer out (caller frees with free()); the strbuf is left empty.
 * Returns NULL when an append failed. Never returns NULL for an empty
 * buffer: an empty string is allocated. */
char *strbuf_detach(struct strbuf *sb, size_t *len_out);

/* JSON helpers: appends 's' as a quoted, escaped JSON string. */
void strbuf_append_json_str(struct strbuf *sb, const char *s, size_t len);
/* Appends a double as text that reads back exactly (integers plainly,
 * others as the shortest decimal that reads back, numtext.h); NaN and
 * infinities become the strings "NaN", "Infinity", "-Infinity". */
void strbuf_append_json_double(struct strbuf *sb, double v);
void strbuf_append_i64(struct strbuf *sb, int64_t v);

#endif
