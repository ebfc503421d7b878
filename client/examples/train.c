/* SPDX-License-Identifier: MIT
 *
 * train.c: libgreentrack's example. Trains a logistic regression by full-
 * batch gradient descent on a generated, seeded data set of two Gaussian
 * blobs in two features, and logs the run's params (lr, epochs, seed,
 * samples) and its loss and accuracy at every step. Started by `greentrack
 * run`, it logs into that run ($GREENTRACK_RUN_ID) instead of a new one.
 *
 *   train-example [--experiment NAME] [--lr X] [--epochs N] [--seed N]
 *                 [--samples N] [--tracking-uri URI]
 */
#include "greentrack.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sample {
    double x[2];
    int y; /* 0 or 1 */
};

/* splitmix64: a small seeded generator, the same numbers everywhere. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double uniform(uint64_t *state)
{
    return ((double)(next_u64(state) >> 11) + 0.5) / 9007199254740992.0;
}

/* Standard normal (Box-Muller). */
static double gaussian(uint64_t *state)
{
    double u = uniform(state), v = uniform(state);

    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Class 1 around (1, 0.5), class 0 around (-1, -0.5), unit spread. */
static void make_data(struct sample *d, size_t n, uint64_t seed)
{
    uint64_t state = seed;

    for (size_t i = 0; i < n; i++) {
        int y = (int)(next_u64(&state) & 1);
        double sign = y ? 1.0 : -1.0;
        d[i].y = y;
        d[i].x[0] = sign * 1.0 + gaussian(&state);
        d[i].x[1] = sign * 0.5 + gaussian(&state);
    }
}

static double sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* One gradient-descent step over the whole set; returns the mean
 * cross-entropy loss and the accuracy before the step. */
static void train_step(const struct sample *d, size_t n, double w[2], double *b,
                       double lr, double *loss, double *acc)
{
    double gw0 = 0, gw1 = 0, gb = 0, l = 0;
    size_t right = 0;

    for (size_t i = 0; i < n; i++) {
        double p = sigmoid(w[0] * d[i].x[0] + w[1] * d[i].x[1] + *b);
        double err = p - d[i].y;
        l -= d[i].y ? log(p + 1e-12) : log(1.0 - p + 1e-12);
        right += (p > 0.5) == (d[i].y == 1);
        gw0 += err * d[i].x[0];
        gw1 += err * d[i].x[1];
        gb += err;
    }
    w[0] -= lr * gw0 / (double)n;
    w[1] -= lr * gw1 / (double)n;
    *b -= lr * gb / (double)n;
    *loss = l / (double)n;
    *acc = (double)right / (double)n;
}

static int parse_num(const char *name, const char *s, double min, double max,
                     double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
        fprintf(stderr, "train-example: bad %s '%s'\n", name, s);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *experiment = "train-example", *uri = NULL;
    double lr = 0.5, epochs = 50, seed = 42, samples = 1000;
    double w[2] = {0, 0}, b = 0, loss = 0, acc = 0;
    const char *attach = getenv("GREENTRACK_RUN_ID");
    struct sample *data;
    gt_client *client;
    gt_run *run = NULL;
    gt_status st;
    char buf[64];
    int dropped = 0;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = v == NULL;
        if (!bad && strcmp(argv[i], "--experiment") == 0) {
            experiment = v;
        } else if (!bad && strcmp(argv[i], "--tracking-uri") == 0) {
            uri = v;
        } else if (!bad && strcmp(argv[i], "--lr") == 0) {
            bad = parse_num("--lr", v, 1e-9, 1e3, &lr);
        } else if (!bad && strcmp(argv[i], "--epochs") == 0) {
            bad = parse_num("--epochs", v, 1, 1e6, &epochs);
        } else if (!bad && strcmp(argv[i], "--seed") == 0) {
            bad = parse_num("--seed", v, 0, 9e15, &seed);
        } else if (!bad && strcmp(argv[i], "--samples") == 0) {
            bad = parse_num("--samples", v, 2, 1e7, &samples);
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "usage: train-example [--experiment NAME] [--lr X] "
                            "[--epochs N] [--seed N] [--samples N] "
                            "[--tracking-uri URI]\n");
            return 2;
        }
        i++;
    }

    data = calloc((size_t)samples, sizeof *data);
    if (data == NULL) {
        fprintf(stderr, "train-example: out of memory\n");
        return 1;
    }
    make_data(data, (size_t)samples, (uint64_t)seed);

    /* NULL: $GREENTRACK_TRACKING_URI, $MLFLOW_TRACKING_URI, then
     * http://127.0.0.1:5000. Never waits for the server. */
    client = gt_client_new(uri);
    if (client == NULL) {
        fprintf(stderr, "train-example: bad tracking URI\n");
        free(data);
        return 1;
    }
    gt_install_exit_handlers(client); /* Ctrl-C ends the run KILLED */
    st = (attach != NULL && *attach != '\0')
             ? gt_run_attach(client, attach, &run)
             : gt_run_start(client, experiment, NULL, &run);
    if (st != GT_OK) {
        fprintf(stderr, "train-example: cannot start a run: %s\n",
                gt_strerror(st));
        gt_client_free(client);
        free(data);
        return 1;
    }
    snprintf(buf, sizeof buf, "%g", lr);
    gt_log_param(run, "lr", buf);
    snprintf(buf, sizeof buf, "%.0f", epochs);
    gt_log_param(run, "epochs", buf);
    snprintf(buf, sizeof buf, "%.0f", seed);
    gt_log_param(run, "seed", buf);
    snprintf(buf, sizeof buf, "%.0f", samples);
    gt_log_param(run, "samples", buf);
    gt_set_tag(run, "model", "logistic-regression");

    for (int64_t step = 0; step < (int64_t)epochs; step++) {
        train_step(data, (size_t)samples, w, &b, lr, &loss, &acc);
        /* Both calls only enqueue; a full queue drops and says so. */
        if (gt_log_metric(run, "loss", loss, step) != GT_OK) {
            dropped++;
        }
        if (gt_log_metric(run, "accuracy", acc, step) != GT_OK) {
            dropped++;
        }
    }
    printf("run %s: %.0f epochs, loss %.4f, accuracy %.3f, w = (%.3f, "
           "%.3f), b = %.3f\n",
           gt_run_id(run), epochs, loss, acc, w[0], w[1], b);
    if (dropped) {
        printf("(%d metric points were dropped)\n", dropped);
    }
    st = gt_run_end(run, GT_RUN_FINISHED);
    if (st != GT_OK) {
        fprintf(stderr,
                "train-example: the server was not reached (%s); "
                "the records wait in the spool\n",
                gt_strerror(st));
    }
    gt_client_free(client);
    free(data);
    return 0;
}
