/* SPDX-License-Identifier: MIT
 *
 * fsread: the small-file reads every probe is made of (sysfs attributes,
 * procfs texts), path building and the probes' log helper. Owns nothing;
 * called from the other files of client/src/probes.
 */
#include "probes_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void probe_logf(const struct probe_log *lg, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!lg || !lg->fn) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lg->fn(lg->ud, level, msg);
}

long fs_pread_small(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap == 0) {
        errno = EINVAL;
        return -1;
    }
    /* sysfs and procfs hand out a file in one or a few reads; loop until
     * EOF or the buffer is full */
    while (len < cap - 1) {
        ssize_t r = pread(fd, buf + len, cap - 1 - len, (off_t)len);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    buf[len] = '\0';
    return (long)len;
}

long fs_read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    long r;
    int saved;
    if (fd < 0) {
        return -1;
    }
    r = fs_pread_small(fd, buf, cap);
    saved = errno;
    close(fd);
    errno = saved;
    return r;
}

bool fs_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    bool any = false;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false; /* overflow */
        }
        v = v * 10 + d;
        any = true;
    }
    if (any) {
        *out = v;
    }
    return any;
}

bool fs_path(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

char *fs_read_all(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0, cap = 8192;
    char *buf;
    if (fd < 0) {
        return NULL;
    }
    buf = malloc(cap);
    while (buf) {
        ssize_t r;
        if (n + 1 == cap) {
            char *p = cap < ((size_t)64 << 20) ? realloc(buf, cap * 2) : NULL;
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            free(buf);
            buf = NULL;
            break;
        }
        if (r == 0) {
            buf[n] = '\0';
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    if (buf && len) {
        *len = n;
    }
    return buf;
}
