/* SPDX-License-Identifier: MIT
 *
 * fuzz_guard: libFuzzer target for server/browser_guard.c. The input is
 * copied to a NUL-terminated buffer and split at '\n' into: the
 * --allowed-hosts list, the --cors-origins list, then the request's
 * method, path, Host, Origin, Sec-Fetch-Site, Content-Type and
 * Access-Control-Request-Method (an empty line: the header is absent).
 * The first byte's bits choose TLS, a body, a raw and a CSV route. Checked:
 * the list checks agree with guard_config_init; a decision is one of the
 * three verdicts, a refusal has an error and a message, and the CORS
 * origin is the request's own Origin or NULL; a request without Host and
 * Origin is never refused for them.
 */
#include "browser_guard.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS 9

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 4096)
        return 0;
    unsigned bits = data[0];
    char *buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    const char *f[FIELDS] = {0};
    char *p = buf;
    for (int i = 0; i < FIELDS && p; i++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        f[i] = *p ? p : NULL;
        p = nl ? nl + 1 : NULL;
    }
    char err[256];
    bool hosts_ok = guard_check_hosts(f[0], err, sizeof(err)) == 0;
    bool origins_ok = guard_check_origins(f[1], err, sizeof(err)) == 0;
    struct guard_config cfg;
    int rc = guard_config_init(&cfg, f[0], f[1], "127.0.0.1", bits & 1, err,
                               sizeof(err));
    if ((rc == 0) != (hosts_ok && origins_ok))
        abort();
    if (rc == 0) {
        struct guard_request r = {
            .method = f[2] ? f[2] : "GET",
            .path = f[3] ? f[3] : "/",
            .host = f[4],
            .origin = f[5],
            .sec_fetch_site = f[6],
            .content_type = f[7],
            .acr_method = f[8],
            .has_body = bits & 2,
            .raw_body = bits & 4,
            .csv_body = bits & 8,
            .server_port = (bits & 16) ? 5000 : 0,
        };
        struct guard_decision d;
        guard_check(&cfg, &r, &d);
        if (d.verdict != GUARD_PASS && d.verdict != GUARD_REFUSE &&
            d.verdict != GUARD_PREFLIGHT)
            abort();
        if (d.verdict == GUARD_REFUSE &&
            (d.err == SRV_OK || !d.msg[0] || !memchr(d.msg, 0, sizeof(d.msg))))
            abort();
        if (d.cors_origin && d.cors_origin != r.origin)
            abort();
        if (!r.host && !r.origin && !r.sec_fetch_site && !r.raw_body &&
            d.verdict != GUARD_PASS)
            abort();
        guard_config_free(&cfg);
    }
    free(buf);
    return 0;
}
