/* SPDX-License-Identifier: MIT
 *
 * exit: the opt-in process-exit hooks of gt_install_exit_handlers. An
 * atexit handler ends open runs FAILED and flushes; SIGTERM and SIGINT
 * handlers only write the signal number to a pipe (async-signal-safe),
 * and a watcher thread then ends open runs KILLED, flushes, restores the
 * previous dispositions and sends the signal again to the process. Doing
 * the work outside the handler means a signal that lands while a logging
 * call holds the queue mutex cannot deadlock.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static gt_client **reg;
static size_t nreg, capreg;
static bool installed;
static int sig_pipe[2] = {-1, -1};
static struct sigaction old_term, old_int;
static atomic_bool sig_seen;

static void end_all(gt_run_status status)
{
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < nreg; i++)
        gt_client_end_open_runs(reg[i], status);
    for (size_t i = 0; i < nreg; i++)
        gt_flush(reg[i], atomic_load(&reg[i]->flush_timeout_ms));
    pthread_mutex_unlock(&reg_mu);
}

static void at_exit(void)
{
    if (!atomic_load(&sig_seen))
        end_all(GT_RUN_FAILED);
}

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(sig_pipe[1], &b, 1) < 0) {
        /* nothing to do in a handler */
    }
    errno = saved;
}

static void *watcher(void *arg)
{
    unsigned char b;
    (void)arg;
    for (;;) {
        ssize_t n = read(sig_pipe[0], &b, 1);
        if (n == 1)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        return NULL;
    }
    atomic_store(&sig_seen, true);
    end_all(GT_RUN_KILLED);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    kill(getpid(), (int)b);
    return NULL;
}

static int install_locked(void)
{
    pthread_t th;
    pthread_attr_t attr;
    struct sigaction sa;

    if (pipe(sig_pipe) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
        fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
    if (pthread_attr_init(&attr) != 0)
        goto fail;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int e = pthread_create(&th, &attr, watcher, NULL);
    pthread_attr_destroy(&attr);
    if (e != 0)
        goto fail;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    atexit(at_exit);
    installed = true;
    return 0;
fail:
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    sig_pipe[0] = sig_pipe[1] = -1;
    return -1;
}

gt_status gt_install_exit_handlers(gt_client *c)
{
    gt_status rc = GT_OK;
    if (!c)
        return GT_E_INVALID;
    pthread_mutex_lock(&reg_mu);
    if (!installed && install_locked() != 0) {
        rc = GT_E_INVALID;
        goto out;
    }
    for (size_t i = 0; i < nreg; i++) {
        if (reg[i] == c)
            goto out;
    }
    if (nreg == capreg) {
        size_t ncap = capreg ? capreg * 2 : 4;
        gt_client **v = realloc(reg, ncap * sizeof *v);
        if (!v) {
            rc = GT_E_NOMEM;
            goto out;
        }
        reg = v;
        capreg = ncap;
    }
    reg[nreg++] = c;
    atomic_store(&c->exit_hooked, true);
out:
    pthread_mutex_unlock(&reg_mu);
    return rc;
}

void gt_exit_unregister(gt_client *c)
{
    if (!atomic_load(&c->exit_hooked))
        return;
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < nreg; i++) {
        if (reg[i] == c) {
            reg[i] = reg[--nreg];
            break;
        }
    }
    if (nreg == 0) {
        free(reg);
        reg = NULL;
        capreg = 0;
    }
    pthread_mutex_unlock(&reg_mu);
}
