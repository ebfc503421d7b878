/* SPDX-License-Identifier: MIT
 *
 * duration.c: parses and prints the human durations of the CLI's options
 * (--duration 3h, --within 24h, --max-delay 90m). Pure string code, built
 * into the `greentrack` command and on its own into test_cli_duration.
 */
#include "duration.h"

#include <stdio.h>

static void set_err(char *err, size_t cap, const char *msg, const char *s)
{
    if (err != NULL && cap > 0) {
        snprintf(err, cap, "bad duration '%s': %s", s, msg);
    }
}

static int unit_rank(char c)
{
    switch (c) {
    case 'h':
    case 'H':
        return 0;
    case 'm':
    case 'M':
        return 1;
    case 's':
    case 'S':
        return 2;
    default:
        return -1;
    }
}

int cli_parse_duration(const char *s, int64_t *out_s, char *err, size_t cap)
{
    static const int64_t scale[] = {3600, 60, 1};
    const char *p = s;
    int64_t total = 0;
    int last_rank = -1;
    int groups = 0;

    if (s == NULL || *s == '\0') {
        set_err(err, cap, "empty (want e.g. 90m, 3h, 1h30m or 45s)",
                s ? s : "");
        return -1;
    }
    while (*p != '\0') {
        int64_t n = 0;
        int digits = 0;
        int rank;

        while (*p >= '0' && *p <= '9') {
            n = n * 10 + (*p - '0');
            digits++;
            p++;
            if (n > CLI_DURATION_MAX_S) {
                set_err(err, cap, "too long (at most 10 years)", s);
                return -1;
            }
        }
        if (digits == 0) {
            set_err(err, cap,
                    *p == '-' ? "must be positive"
                              : "expected a number (want e.g. 90m, 3h, "
                                "1h30m or 45s)",
                    s);
            return -1;
        }
        if (*p == '\0') {
            if (groups > 0) {
                set_err(err, cap, "the last number has no unit (h, m or s)", s);
                return -1;
            }
            total = n * 60; /* a plain number means minutes */
            break;
        }
        rank = unit_rank(*p);
        if (rank < 0) {
            set_err(err, cap,
                    *p == '.' ? "whole numbers only (write 1h30m, not 1.5h)"
                              : "unknown unit (use h, m or s, e.g. 1h30m)",
                    s);
            return -1;
        }
        if (rank <= last_rank) {
            set_err(err, cap, "units must come once each, in the order h, m, s",
                    s);
            return -1;
        }
        last_rank = rank;
        p++;
        groups++;
        if (n > CLI_DURATION_MAX_S / scale[rank] ||
            total + n * scale[rank] > CLI_DURATION_MAX_S) {
            set_err(err, cap, "too long (at most 10 years)", s);
            return -1;
        }
        total += n * scale[rank];
    }
    if (total > CLI_DURATION_MAX_S) {
        set_err(err, cap, "too long (at most 10 years)", s);
        return -1;
    }
    if (total <= 0) {
        set_err(err, cap, "must be more than zero", s);
        return -1;
    }
    *out_s = total;
    return 0;
}

void cli_duration_str(int64_t seconds, char *out, size_t cap)
{
    long long s = (long long)seconds;

    if (s <= 0) {
        snprintf(out, cap, "0s");
    } else if (s < 60) {
        snprintf(out, cap, "%llds", s);
    } else if (s < 3600) {
        if (s % 60 == 0) {
            snprintf(out, cap, "%lldm", s / 60);
        } else {
            snprintf(out, cap, "%lldm%02llds", s / 60, s % 60);
        }
    } else if (s < 2 * 86400) {
        long long m = (s + 30) / 60; /* to the nearest minute */
        if (m % 60 == 0) {
            snprintf(out, cap, "%lldh", m / 60);
        } else {
            snprintf(out, cap, "%lldh%02lldm", m / 60, m % 60);
        }
    } else {
        long long h = (s + 1800) / 3600;
        snprintf(out, cap, "%lldd%02lldh", h / 24, h % 24);
    }
}
