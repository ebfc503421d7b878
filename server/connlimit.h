/* SPDX-License-Identifier: MIT
 *
 * connlimit: open connections counted in all and per client address, over
 * every HTTP thread (libmicrohttpd's own limits count per daemon, and the
 * kernel spreads one client's connections over all of them). http.c asks
 * connlimit_admit when a connection is accepted and adds and removes it as
 * libmicrohttpd reports it started and closed. Thread-safe; caller frees
 * with connlimit_free.
 */
#ifndef SERVER_CONNLIMIT_H
#define SERVER_CONNLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct connlimit;

/* A counter for at most 'total' connections (> 0) and 'per_addr' from one
 * client address (0: no per-address limit). NULL when out of memory. */
struct connlimit *connlimit_new(unsigned total, unsigned per_addr);

void connlimit_free(struct connlimit *cl);

/* Whether one more connection from 'sa' stays within both limits. It
 * only looks: connlimit_add counts it. Between the two, another thread
 * may admit one too, so a limit can be passed by as many connections as
 * there are threads accepting at once. */
bool connlimit_admit(struct connlimit *cl, const struct sockaddr *sa,
                     socklen_t len);

/* Counts an open connection from 'sa' (even past a limit: it is open). */
void connlimit_add(struct connlimit *cl, const struct sockaddr *sa,
                   socklen_t len);

/* Uncounts a connection connlimit_add counted. */
void connlimit_remove(struct connlimit *cl, const struct sockaddr *sa,
                      socklen_t len);

/* Connections counted in all, and from 'sa' (NULL: only the total). */
unsigned connlimit_count(struct connlimit *cl, const struct sockaddr *sa,
                         socklen_t len, unsigned *from_addr);

#endif
