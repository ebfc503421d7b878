/* SPDX-License-Identifier: MIT
 *
 * nvml_check: drives libgreentrack's energy probes (client/src/probes)
 * against a real NVIDIA driver, for tests/device/run_nvml_check.sh. It is
 * not part of CI: CI has no GPU and tests the same code against
 * tests/fakes/fake_nvml.c.
 *
 * Usage: nvml_check SECONDS WINDOW_SECONDS
 * Samples every second (as the library's sampler does), takes a window
 * every WINDOW_SECONDS, and prints one JSON object per line: first the
 * host facts, then one per window with its GPU joules, method, and the
 * thread CPU time the take cost (the energy counter read). Diagnostics of
 * the probes go to stderr.
 */
#include "probes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void log_line(void *userdata, int level, const char *msg)
{
    (void)userdata;
    fprintf(stderr, "probe[%d]: %s\n", level, msg);
}

static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void print_quoted(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            putchar('\\');
        }
        if ((unsigned char)*s >= 0x20) {
            putchar(*s);
        }
    }
    putchar('"');
}

/* A whole number of seconds in 1..86400, or -1 when TEXT is not one. */
static int parse_seconds(const char *text)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 ||
        value > 86400) {
        return -1;
    }
    return (int)value;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: nvml_check SECONDS WINDOW_SECONDS\n");
        return 2;
    }
    int seconds = parse_seconds(argv[1]), window = parse_seconds(argv[2]);
    if (seconds < 1 || window < 1) {
        fprintf(stderr,
                "nvml_check: SECONDS and WINDOW_SECONDS must be >= 1\n");
        return 2;
    }
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    struct probe_config cfg = {
        .cuda_visible_devices = visible,
        .cuda_visible_set = visible != NULL,
        .scope = ENERGY_SCOPE_NODE,
        .log = log_line,
    };
    struct energy_meter *m = energy_meter_open(&cfg);
    if (!m) {
        fprintf(stderr, "nvml_check: out of memory\n");
        return 1;
    }
    struct host_facts hf;
    energy_meter_host_facts(m, &hf);
    printf("{\"gpus\": %d, \"gpu_model\": ", hf.gpus);
    print_quoted(hf.gpu_model);
    printf(", \"cpu\": ");
    print_quoted(hf.cpu);
    printf("}\n");
    fflush(stdout);

    for (int t = 1; t <= seconds; t++) {
        struct timespec one = {1, 0};
        nanosleep(&one, NULL);
        if (t % window != 0) {
            double before = thread_cpu_ms();
            energy_meter_sample(m);
            fprintf(stderr, "sample cpu_ms=%.3f\n", thread_cpu_ms() - before);
            continue;
        }
        struct energy_window w;
        double before = thread_cpu_ms();
        energy_meter_take(m, &w);
        double take_ms = thread_cpu_ms() - before;
        printf("{\"start_ms\": %lld, \"end_ms\": %lld, \"gpu_j\": %.3f, "
               "\"gpu_method\": \"%s\", \"cpu_j\": %.3f, \"cpu_method\": "
               "\"%s\", \"take_cpu_ms\": %.3f}\n",
               (long long)w.start_ms, (long long)w.end_ms, w.gpu_j,
               w.gpu_method, w.cpu_j, w.cpu_method, take_ms);
        fflush(stdout);
    }
    energy_meter_close(m);
    return 0;
}
