/* SPDX-License-Identifier: MIT
 *
 * log: leveled diagnostics to stderr (one line each, with a UTC timestamp).
 * The level is process-wide, set once at start-up by main before threads
 * exist; logging itself is thread-safe (one fprintf per line).
 */
#ifndef SERVER_LOG_H
#define SERVER_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_current_level;

/* Parses "error|warn|info|debug"; returns 0 on success, -1 otherwise. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An audit line ("audit" in place of the level): written whatever the
 * level (--auth's trail of state-changing requests). */
void log_audit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
    do {                                                                       \
        if (log_current_level >= LOG_DEBUG)                                    \
            log_msg(LOG_DEBUG, __VA_ARGS__);                                   \
    } while (0)

#endif
