/* SPDX-License-Identifier: MIT
 *
 * test_guard_rules: the browser guard's decisions (browser_guard.c): the
 * default Host list (bind address, localhost, 127.0.0.1, [::1] with the
 * server's port), explicit lists with ports and *.domain, '*', a missing
 * Host and the /health exemption; state-changing requests with
 * Sec-Fetch-Site: cross-site or a foreign or "null" Origin refused, same
 * origin (also through a TLS proxy) and listed origins allowed; CORS
 * preflight; the raw-body routes' Content-Type; and the list syntax
 * checks of --allowed-hosts and --cors-origins.
 */
#include "browser_guard.h"
#include "test.h"

#define PORT 5000

static struct guard_request req(const char *method, const char *path,
                                const char *host)
{
    struct guard_request r = {0};
    r.method = method;
    r.path = path;
    r.host = host;
    r.server_port = PORT;
    return r;
}

static enum guard_verdict verdict(const struct guard_config *cfg,
                                  const struct guard_request *r)
{
    struct guard_decision d;
    guard_check(cfg, r, &d);
    return d.verdict;
}

static enum srv_err refusal(const struct guard_config *cfg,
                            const struct guard_request *r)
{
    struct guard_decision d;
    guard_check(cfg, r, &d);
    return d.verdict == GUARD_REFUSE ? d.err : SRV_OK;
}

static void test_default_hosts(void)
{
    struct guard_config cfg;
    char err[256];
    CHECK_EQ_INT(guard_config_init(&cfg, NULL, NULL, "127.0.0.1", false, err,
                                   sizeof(err)),
                 0);
    static const char *const ok[] = {"127.0.0.1:5000", "localhost:5000",
                                     "LOCALHOST:5000", "localhost.:5000",
                                     "[::1]:5000",     "[::1]:5000"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
        struct guard_request r = req("GET", "/api/2.0/mlflow/runs/get", ok[i]);
        CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    }
    static const char *const bad[] = {"evil.example:5000",
                                      "localhost:5001",
                                      "127.0.0.1",
                                      "localhost",
                                      "127.0.0.2:5000",
                                      "localhost.evil:5000",
                                      "",
                                      "localhost:99999",
                                      "localhost:50a0",
                                      "[::1",
                                      "a b:5000",
                                      "user@localhost:5000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        struct guard_request r = req("GET", "/api/2.0/mlflow/runs/get", bad[i]);
        CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_MISDIRECTED);
    }
    /* a POST with a foreign Host is refused for the Host too */
    struct guard_request r =
        req("POST", "/api/2.0/mlflow/runs/create", "rebind.example:5000");
    CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_MISDIRECTED);
    /* /health is exempt, a request without Host (HTTP/1.0) passes */
    r = req("GET", "/health", "rebind.example:5000");
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    r = req("GET", "/version", "rebind.example:5000");
    CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_MISDIRECTED);
    r = req("POST", "/api/2.0/mlflow/runs/create", NULL);
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    /* the port is the one the request came in on (known only after the
     * bind, as with --port 0) */
    r = req("GET", "/version", "localhost:6000");
    r.server_port = 6000;
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    guard_config_free(&cfg);

    /* the bind address is allowed; over TLS a Host without port is 443 */
    CHECK_EQ_INT(
        guard_config_init(&cfg, NULL, NULL, "10.1.2.3", true, err, sizeof(err)),
        0);
    r = req("GET", "/version", "10.1.2.3:5000");
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    r = req("GET", "/version", "localhost");
    r.server_port = 443;
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    r.server_port = 80;
    CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_MISDIRECTED);
    guard_config_free(&cfg);

    /* an IPv6 bind address is matched in its bracketed form */
    CHECK_EQ_INT(
        guard_config_init(&cfg, NULL, NULL, "fd00::5", false, err, sizeof(err)),
        0);
    r = req("GET", "/version", "[FD00::5]:5000");
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    guard_config_free(&cfg);
}

static void test_explicit_hosts(void)
{
    struct guard_config cfg;
    char err[256];
    CHECK_EQ_INT(guard_config_init(&cfg,
                                   " tracker.example.com , *.corp.example,"
                                   "greentrack:5000,[::1]:8080",
                                   NULL, "0.0.0.0", false, err, sizeof(err)),
                 0);
    struct {
        const char *host;
        bool ok;
    } cases[] = {
        {"tracker.example.com", true},
        {"tracker.example.com:8443", true}, /* no port: any port */
        {"Tracker.Example.COM.", true},
        {"a.corp.example", true},
        {"a.b.corp.example:1", true},
        {"corp.example", false}, /* *.domain: subdomains only */
        {"xcorp.example", false},
        {"greentrack:5000", true},
        {"greentrack:5001", false},
        {"greentrack", false}, /* port 80 */
        {"[::1]:8080", true},
        {"[::1]:5000", false},
        {"localhost:5000", false}, /* the defaults are replaced */
        {"0.0.0.0:5000", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct guard_request r = req("GET", "/version", cases[i].host);
        enum guard_verdict v = verdict(&cfg, &r);
        if (v != (cases[i].ok ? GUARD_PASS : GUARD_REFUSE))
            fprintf(stderr, "host case %s\n", cases[i].host);
        CHECK_EQ_INT(v, cases[i].ok ? GUARD_PASS : GUARD_REFUSE);
    }
    guard_config_free(&cfg);

    CHECK_EQ_INT(guard_config_init(&cfg, " * ", NULL, "0.0.0.0", false, err,
                                   sizeof(err)),
                 0);
    CHECK(cfg.any_host);
    struct guard_request r = req("GET", "/version", "anything.example:1");
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    /* '*' turns off the Host check only, not the cross-site one */
    r = req("POST", "/api/2.0/mlflow/runs/create", "anything.example:1");
    r.origin = "http://evil.example";
    CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_PERMISSION_DENIED);
    guard_config_free(&cfg);
}

static void test_cross_site(void)
{
    struct guard_config cfg;
    char err[256];
    CHECK_EQ_INT(guard_config_init(&cfg, NULL,
                                   "https://notebook.example:8888, "
                                   "http://lab.example/",
                                   "127.0.0.1", false, err, sizeof(err)),
                 0);
    const char *path = "/api/2.0/mlflow/experiments/create";
    static const char *const writes[] = {"POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < sizeof(writes) / sizeof(*writes); i++) {
        struct guard_request r = req(writes[i], path, "127.0.0.1:5000");
        CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS); /* curl, clients */
        r.sec_fetch_site = "cross-site";
        CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_PERMISSION_DENIED);
        r.sec_fetch_site = "same-origin";
        CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
        r.origin = "http://evil.example";
        CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_PERMISSION_DENIED);
        r.origin = "null";
        CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_PERMISSION_DENIED);
        r.origin = "http://127.0.0.1:5000"; /* the UI itself */
        CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
        r.origin = "http://127.0.0.1:5001";
        CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_PERMISSION_DENIED);
        r.origin = "http://localhost:5000"; /* another origin than Host */
        CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_PERMISSION_DENIED);
    }
    /* reads are not refused (the browser keeps their answers from the
     * page) */
    struct guard_request r =
        req("GET", "/api/2.0/mlflow/runs/get", "127.0.0.1:5000");
    r.origin = "http://evil.example";
    r.sec_fetch_site = "cross-site";
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    struct guard_decision d;
    guard_check(&cfg, &r, &d);
    CHECK(d.cors_origin == NULL); /* and they carry no CORS header */

    /* listed origins may write, and get the CORS header */
    r = req("POST", path, "127.0.0.1:5000");
    r.origin = "https://notebook.example:8888";
    r.sec_fetch_site = "cross-site";
    guard_check(&cfg, &r, &d);
    CHECK_EQ_INT(d.verdict, GUARD_PASS);
    CHECK(d.cors_origin == r.origin);
    r.origin = "HTTPS://Notebook.Example:8888";
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    r.origin = "http://notebook.example:8888"; /* scheme differs */
    CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_PERMISSION_DENIED);
    r.origin = "http://lab.example"; /* listed with a trailing '/' */
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    r.origin = "http://lab.example:80";
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    guard_config_free(&cfg);

    /* behind a TLS-terminating proxy: Origin https://name, Host name */
    CHECK_EQ_INT(guard_config_init(&cfg, "tracker.example.com", NULL,
                                   "127.0.0.1", false, err, sizeof(err)),
                 0);
    r = req("POST", path, "tracker.example.com");
    r.origin = "https://tracker.example.com";
    r.sec_fetch_site = "same-origin";
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    guard_config_free(&cfg);
}

static void test_preflight(void)
{
    struct guard_config cfg;
    char err[256];
    CHECK_EQ_INT(guard_config_init(&cfg, NULL, "http://nb.example:8888",
                                   "127.0.0.1", false, err, sizeof(err)),
                 0);
    struct guard_request r =
        req("OPTIONS", "/api/2.0/mlflow/runs/create", "127.0.0.1:5000");
    r.origin = "http://nb.example:8888";
    r.acr_method = "POST";
    struct guard_decision d;
    guard_check(&cfg, &r, &d);
    CHECK_EQ_INT(d.verdict, GUARD_PREFLIGHT);
    CHECK(d.cors_origin == r.origin);
    r.origin = "http://other.example";
    CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_PERMISSION_DENIED);
    /* an OPTIONS that is no preflight goes on (405 from the router) */
    r.acr_method = NULL;
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    guard_config_free(&cfg);

    /* no origin is listed by default */
    CHECK_EQ_INT(guard_config_init(&cfg, NULL, NULL, "127.0.0.1", false, err,
                                   sizeof(err)),
                 0);
    r = req("OPTIONS", "/api/2.0/mlflow/runs/create", "127.0.0.1:5000");
    r.origin = "http://nb.example:8888";
    r.acr_method = "POST";
    CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_PERMISSION_DENIED);
    guard_config_free(&cfg);
}

static void test_raw_content_type(void)
{
    struct guard_config cfg;
    char err[256];
    CHECK_EQ_INT(guard_config_init(&cfg, NULL, NULL, "127.0.0.1", false, err,
                                   sizeof(err)),
                 0);
    struct guard_request r =
        req("POST", "/api/2.0/greentrack/import/codecarbon", "127.0.0.1:5000");
    r.raw_body = r.csv_body = r.has_body = true;
    struct {
        const char *ct;
        bool csv_ok, json_ok;
    } cases[] = {
        {"text/csv", true, false},
        {"Text/CSV; charset=utf-8", true, false},
        {"application/json", true, true},
        {" application/json ;charset=utf-8", true, true},
        {"text/plain", false, false}, /* what a form may send */
        {"application/x-www-form-urlencoded", false, false},
        {"multipart/form-data; boundary=x", false, false},
        {"text/csvx", false, false},
        {"application/jsonp", false, false},
        {"", false, false},
        {NULL, false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        r.content_type = cases[i].ct;
        r.csv_body = true;
        CHECK_EQ_INT(refusal(&cfg, &r),
                     cases[i].csv_ok ? SRV_OK : SRV_E_INVALID_PARAMETER_VALUE);
        r.csv_body = false;
        CHECK_EQ_INT(refusal(&cfg, &r),
                     cases[i].json_ok ? SRV_OK : SRV_E_INVALID_PARAMETER_VALUE);
    }
    /* without a body no Content-Type is needed (grid/refresh?zone=) */
    r.content_type = NULL;
    r.has_body = false;
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    /* but a form's type is still refused */
    r.content_type = "text/plain";
    CHECK_EQ_INT(refusal(&cfg, &r), SRV_E_INVALID_PARAMETER_VALUE);
    /* not a raw route (JSON routes check their own type; uploads are
     * exempt) */
    r.raw_body = false;
    r.has_body = true;
    CHECK_EQ_INT(verdict(&cfg, &r), GUARD_PASS);
    guard_config_free(&cfg);
}

static void test_list_syntax(void)
{
    char err[256];
    static const char *const hosts_ok[] = {
        "*",           " * ",
        "a",           "a,b",
        "a:1,b:65535", "*.x.example",
        "[::1]:80",    "10.0.0.1:5000",
        "a, ,b",       "xn--bcher-kva.example"};
    for (size_t i = 0; i < sizeof(hosts_ok) / sizeof(*hosts_ok); i++)
        CHECK_EQ_INT(guard_check_hosts(hosts_ok[i], err, sizeof(err)), 0);
    static const char *const hosts_bad[] = {
        "",         " , ",  "a/b", "a:65536",    "a:x",
        "http://a", "[::1", "a b", "*x.example", "a:1:2:3x"};
    for (size_t i = 0; i < sizeof(hosts_bad) / sizeof(*hosts_bad); i++) {
        err[0] = '\0';
        CHECK_EQ_INT(guard_check_hosts(hosts_bad[i], err, sizeof(err)), -1);
        CHECK(strstr(err, "--allowed-hosts") != NULL);
    }
    static const char *const origins_ok[] = {"", "http://a", "https://a:8443",
                                             "http://a/, https://b",
                                             "http://[::1]:8888"};
    for (size_t i = 0; i < sizeof(origins_ok) / sizeof(*origins_ok); i++)
        CHECK_EQ_INT(guard_check_origins(origins_ok[i], err, sizeof(err)), 0);
    static const char *const origins_bad[] = {
        "*",          "a",    "ftp://a",     "http://", "http://a/path",
        "http://u@a", "null", "https://a:0x"};
    for (size_t i = 0; i < sizeof(origins_bad) / sizeof(*origins_bad); i++) {
        err[0] = '\0';
        CHECK_EQ_INT(guard_check_origins(origins_bad[i], err, sizeof(err)), -1);
        CHECK(strstr(err, "--cors-origins") != NULL);
    }
    struct guard_config cfg;
    CHECK_EQ_INT(guard_config_init(&cfg, "a/b", NULL, "127.0.0.1", false, err,
                                   sizeof(err)),
                 -1);
    guard_config_free(&cfg);
}

int main(void)
{
    test_default_hosts();
    test_explicit_hosts();
    test_cross_site();
    test_preflight();
    test_raw_content_type();
    test_list_syntax();
    TEST_MAIN_END("test_guard_rules");
}
