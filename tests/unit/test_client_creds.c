/* SPDX-License-Identifier: MIT
 *
 * test_client_creds: libgreentrack's credentials (creds.c). The
 * credentials file: written 0600 in new 0700 folders, one section per
 * tracking URI (trailing slash ignored), other sections kept on replace
 * and remove, values with control characters refused, refused on read
 * when group/other may read it or it is a symbolic link. Where a client's
 * credentials come from (environment order, the file, the notes on what
 * was ignored), GREENTRACK_CA_BUNDLE, the public setters' checks, and the
 * 401/403 texts (they name the credential, never the secret). Against a
 * fake HTTP server in a thread: the Basic and Bearer headers on the wire,
 * a 401 is TP_AUTH, and a client whose server answers 401 keeps its run's
 * records in the spool (nothing dropped), says which credential is
 * missing, and stops sending instead of retrying forever.
 */
#include "internal.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmp[256];

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0)
            fprintf(stderr, "write %s failed\n", path);
        fchmod(fd, mode);
        close(fd);
    }
}

static char *read_all(const char *path)
{
    static char buf[8192];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void clear_env(void)
{
    unsetenv("MLFLOW_TRACKING_USERNAME");
    unsetenv("MLFLOW_TRACKING_PASSWORD");
    unsetenv("MLFLOW_TRACKING_TOKEN");
    unsetenv("GREENTRACK_TRACKING_TOKEN");
    unsetenv("GREENTRACK_CA_BUNDLE");
    unsetenv("XDG_CONFIG_HOME");
}

/*---- the credentials file ----*/

static void test_file(void)
{
    char path[400], dir[400], err[512];
    struct creds_entry e;
    struct stat st;
    snprintf(path, sizeof path, "%s/cfg/greentrack/credentials", tmp);
    snprintf(dir, sizeof dir, "%s/cfg/greentrack", tmp);

    CHECK_EQ_INT(creds_file_lookup(path, "http://a:1", &e, err, sizeof err), 0);
    CHECK_EQ_INT(creds_file_store(path, "http://a:1/", "alice", "gtk_one", "7",
                                  err, sizeof err),
                 GT_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK_EQ_INT(creds_file_store(path, "https://b", NULL, "gtk_two", NULL, err,
                                  sizeof err),
                 GT_OK);

    CHECK_EQ_INT(creds_file_lookup(path, "http://a:1", &e, err, sizeof err), 1);
    CHECK_EQ_STR(e.token, "gtk_one");
    CHECK_EQ_STR(e.token_id, "7");
    CHECK_EQ_STR(e.username, "alice");
    creds_entry_cleanup(&e);
    CHECK_EQ_INT(creds_file_lookup(path, "https://b/", &e, err, sizeof err), 1);
    CHECK_EQ_STR(e.token, "gtk_two");
    CHECK(e.token_id == NULL && e.username == NULL);
    creds_entry_cleanup(&e);
    CHECK_EQ_INT(creds_file_lookup(path, "http://c", &e, err, sizeof err), 0);

    /* replacing a section keeps the others, once each */
    CHECK_EQ_INT(creds_file_store(path, "http://a:1", "alice", "gtk_three", "8",
                                  err, sizeof err),
                 GT_OK);
    CHECK_EQ_INT(creds_file_lookup(path, "http://a:1", &e, err, sizeof err), 1);
    CHECK_EQ_STR(e.token, "gtk_three");
    CHECK_EQ_STR(e.token_id, "8");
    creds_entry_cleanup(&e);
    const char *text = read_all(path);
    CHECK(strstr(text, "gtk_one") == NULL);
    CHECK(strstr(text, "gtk_two") != NULL);
    CHECK(strstr(strstr(text, "[http://a:1]") + 1, "[http://a:1]") == NULL);

    /* a newline would inject a line: refused */
    CHECK_EQ_INT(creds_file_store(path, "http://a:1", NULL, "x\ntoken = y",
                                  NULL, err, sizeof err),
                 GT_E_INVALID);

    /* remove: that section only; again is not found */
    char *id = NULL;
    CHECK_EQ_INT(creds_file_remove(path, "http://a:1", &id, err, sizeof err),
                 GT_OK);
    CHECK_EQ_STR(id, "8");
    free(id);
    CHECK_EQ_INT(creds_file_lookup(path, "http://a:1", &e, err, sizeof err), 0);
    CHECK_EQ_INT(creds_file_lookup(path, "https://b", &e, err, sizeof err), 1);
    creds_entry_cleanup(&e);
    CHECK_EQ_INT(creds_file_remove(path, "http://a:1", NULL, err, sizeof err),
                 GT_E_NOT_FOUND);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

    /* readable by group or others: refused, and the reason says so */
    chmod(path, 0640);
    CHECK_EQ_INT(creds_file_lookup(path, "https://b", &e, err, sizeof err), -1);
    CHECK(strstr(err, "chmod 600") != NULL);
    CHECK(e.token == NULL);
    chmod(path, 0604);
    CHECK_EQ_INT(creds_file_lookup(path, "https://b", &e, err, sizeof err), -1);
    /* a store rewrites it 0600 */
    CHECK_EQ_INT(creds_file_store(path, "http://d", NULL, "gtk_d", NULL, err,
                                  sizeof err),
                 GT_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_EQ_INT(creds_file_lookup(path, "https://b", &e, err, sizeof err), 1);
    creds_entry_cleanup(&e);

    /* a symbolic link is not followed */
    char link[420];
    snprintf(link, sizeof link, "%s/link", tmp);
    CHECK(symlink(path, link) == 0);
    CHECK_EQ_INT(creds_file_lookup(link, "https://b", &e, err, sizeof err), -1);

    /* comments, blanks, CRLF and spaces around '=' are fine */
    char hand[420];
    snprintf(hand, sizeof hand, "%s/hand", tmp);
    write_file(hand,
               "# mine\r\n\r\n[http://h:5]\r\n  token=  gtk_h \r\nother = "
               "1\r\n[http://i]\ntoken = gtk_i\n",
               0600);
    CHECK_EQ_INT(creds_file_lookup(hand, "http://h:5", &e, err, sizeof err), 1);
    CHECK_EQ_STR(e.token, "gtk_h");
    creds_entry_cleanup(&e);
    /* a section without a token is no credential */
    write_file(hand, "[http://h:5]\nusername = bob\n", 0600);
    CHECK_EQ_INT(creds_file_lookup(hand, "http://h:5", &e, err, sizeof err), 0);
}

/*---- where a client's credentials come from ----*/

static void test_sources(void)
{
    struct gt_creds cr;
    char home[300], msg[1024];
    snprintf(home, sizeof home, "%s/home", tmp);
    mkdir(home, 0700);
    setenv("HOME", home, 1);
    clear_env();

    /* nothing: anonymous; the 401 text says what to set */
    CHECK_EQ_INT(creds_init(&cr, "http://s:1"), 0);
    CHECK_EQ_INT(cr.kind, CRED_NONE);
    creds_explain(&cr, 401, "", msg, sizeof msg);
    CHECK(strstr(msg, "none are set") != NULL);
    CHECK(strstr(msg, "MLFLOW_TRACKING_TOKEN") != NULL);
    CHECK(strstr(msg, "greentrack login") != NULL);
    creds_cleanup(&cr);

    /* the file, once `greentrack login` stored a token */
    char err[256];
    CHECK_EQ_INT(gt_credentials_save("http://s:1", "carol", "gtk_file", "3",
                                     err, sizeof err),
                 GT_OK);
    char *p = gt_credentials_path();
    char want[400];
    snprintf(want, sizeof want, "%s/.config/greentrack/credentials", home);
    CHECK_EQ_STR(p, want);
    CHECK_EQ_INT(creds_init(&cr, "http://s:1"), 0);
    CHECK_EQ_INT(cr.kind, CRED_TOKEN);
    CHECK_EQ_STR(cr.token, "gtk_file");
    CHECK(strstr(cr.source, "credentials file") != NULL);
    creds_explain(&cr, 401, "", msg, sizeof msg);
    CHECK(strstr(msg, "carol") != NULL);
    CHECK(strstr(msg, "gtk_file") == NULL);
    creds_cleanup(&cr);
    /* another server: not this token */
    CHECK_EQ_INT(creds_init(&cr, "http://other:1"), 0);
    CHECK_EQ_INT(cr.kind, CRED_NONE);
    creds_cleanup(&cr);
    /* the file readable by others: ignored, and the 401 says why */
    chmod(p, 0644);
    CHECK_EQ_INT(creds_init(&cr, "http://s:1"), 0);
    CHECK_EQ_INT(cr.kind, CRED_NONE);
    creds_explain(&cr, 401, "", msg, sizeof msg);
    CHECK(strstr(msg, "chmod 600") != NULL);
    creds_cleanup(&cr);
    chmod(p, 0600);
    gt_free(p);

    /* $MLFLOW_TRACKING_TOKEN beats the file, $GREENTRACK_TRACKING_TOKEN
     * beats it */
    setenv("MLFLOW_TRACKING_TOKEN", "gtk_mlflow", 1);
    CHECK_EQ_INT(creds_init(&cr, "http://s:1"), 0);
    CHECK_EQ_STR(cr.token, "gtk_mlflow");
    CHECK_EQ_STR(cr.source, "$MLFLOW_TRACKING_TOKEN");
    creds_cleanup(&cr);
    setenv("GREENTRACK_TRACKING_TOKEN", "gtk_gt", 1);
    CHECK_EQ_INT(creds_init(&cr, "http://s:1"), 0);
    CHECK_EQ_STR(cr.token, "gtk_gt");
    creds_cleanup(&cr);

    /* a user without a password: not used, and the note says so */
    setenv("MLFLOW_TRACKING_USERNAME", "dave", 1);
    CHECK_EQ_INT(creds_init(&cr, "http://s:1"), 0);
    CHECK_EQ_INT(cr.kind, CRED_TOKEN);
    CHECK(strstr(cr.note, "MLFLOW_TRACKING_PASSWORD is not") != NULL);
    creds_cleanup(&cr);
    unsetenv("GREENTRACK_TRACKING_TOKEN");
    unsetenv("MLFLOW_TRACKING_TOKEN");
    gt_credentials_remove("http://s:1", err, sizeof err);
    CHECK_EQ_INT(creds_init(&cr, "http://s:1"), 0);
    CHECK_EQ_INT(cr.kind, CRED_NONE);
    creds_explain(&cr, 401, "", msg, sizeof msg);
    CHECK(strstr(msg, "MLFLOW_TRACKING_PASSWORD is not") != NULL);
    creds_cleanup(&cr);

    /* user and password: Basic, first of all */
    setenv("MLFLOW_TRACKING_PASSWORD", "s3cret-pw", 1);
    setenv("MLFLOW_TRACKING_TOKEN", "gtk_mlflow", 1);
    setenv("GREENTRACK_CA_BUNDLE", "/etc/ca.pem", 1);
    CHECK_EQ_INT(creds_init(&cr, "http://s:1"), 0);
    CHECK_EQ_INT(cr.kind, CRED_BASIC);
    CHECK_EQ_STR(cr.username, "dave");
    CHECK_EQ_STR(cr.password, "s3cret-pw");
    CHECK_EQ_STR(cr.ca_bundle, "/etc/ca.pem");
    creds_explain(&cr, 401, "", msg, sizeof msg);
    CHECK(strstr(msg, "dave") != NULL && strstr(msg, "s3cret") == NULL);
    creds_explain(&cr, 403, "needs EDIT on experiment 3", msg, sizeof msg);
    CHECK(strstr(msg, "403") != NULL && strstr(msg, "EDIT") != NULL);
    CHECK(strstr(msg, "s3cret") == NULL);
    /* setters win and bump the generation */
    unsigned gen = cr.gen;
    CHECK_EQ_INT(creds_set_token(&cr, "gtk_set"), GT_OK);
    CHECK_EQ_INT(cr.kind, CRED_TOKEN);
    CHECK(cr.password == NULL && cr.gen != gen);
    creds_cleanup(&cr);
    clear_env();
}

static void test_public(void)
{
    char err[256];
    gt_client *c = gt_client_new("http://127.0.0.1:1");
    CHECK(c != NULL);
    CHECK_EQ_INT(gt_client_set_basic_auth(c, "u", "p"), GT_OK);
    CHECK_EQ_INT(gt_client_set_basic_auth(c, "a:b", "p"), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_basic_auth(c, "u", ""), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_basic_auth(c, "u", NULL), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_basic_auth(NULL, "u", "p"), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_token(c, "gtk\r\nX: y"), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_token(c, "gtk_ok"), GT_OK);
    CHECK_EQ_INT(gt_client_set_ca_bundle(c, ""), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_ca_bundle(c, "/etc/ssl/certs/x.pem"), GT_OK);
    gt_client_free(c);
    CHECK(strstr(gt_strerror(GT_E_AUTH), "401") != NULL);

    /* save, get, remove through the public API */
    CHECK_EQ_INT(
        gt_credentials_save("ftp://x", NULL, "t", NULL, err, sizeof err),
        GT_E_INVALID);
    CHECK_EQ_INT(gt_credentials_save("http://p:9", "erin", "gtk_p", "12", err,
                                     sizeof err),
                 GT_OK);
    char *u = NULL, *t = NULL, *id = NULL;
    CHECK_EQ_INT(
        gt_credentials_get("http://p:9/", &u, &t, &id, err, sizeof err), GT_OK);
    CHECK_EQ_STR(u, "erin");
    CHECK_EQ_STR(t, "gtk_p");
    CHECK_EQ_STR(id, "12");
    gt_free(u);
    gt_free(t);
    gt_free(id);
    CHECK_EQ_INT(gt_credentials_remove("http://p:9", err, sizeof err), GT_OK);
    CHECK_EQ_INT(
        gt_credentials_get("http://p:9", NULL, &t, NULL, err, sizeof err),
        GT_E_NOT_FOUND);
    CHECK(t == NULL);
}

/*---- on the wire: a fake server ----*/

struct fake {
    int lfd;
    int port;
    int status;           /* what every request gets */
    _Atomic int requests; /* requests answered */
    char auth[256];       /* the last Authorization header */
    pthread_mutex_t mu;
};

/* strcasestr without _GNU_SOURCE. */
static char *find_ci(char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    }
    return NULL;
}

static void *conn_main(void *arg)
{
    struct fake *f = ((void **)arg)[0];
    int fd = (int)(intptr_t)((void **)arg)[1];
    free(arg);
    char buf[65536];
    size_t have = 0;
    for (;;) {
        ssize_t k = read(fd, buf + have, sizeof buf - 1 - have);
        if (k <= 0)
            break;
        have += (size_t)k;
        buf[have] = '\0';
        char *end;
        while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
            size_t hl = (size_t)(end - buf) + 4;
            long clen = 0;
            char *cl = find_ci(buf, "\r\ncontent-length:");
            if (cl && cl < end)
                clen = strtol(cl + 17, NULL, 10);
            if (have < hl + (size_t)clen)
                break;
            pthread_mutex_lock(&f->mu);
            char *a = find_ci(buf, "\r\nauthorization: ");
            f->auth[0] = '\0';
            if (a && a < end) {
                char *e = strstr(a + 2, "\r\n");
                snprintf(f->auth, sizeof f->auth, "%.*s", (int)(e - (a + 17)),
                         a + 17);
            }
            int status = f->status;
            pthread_mutex_unlock(&f->mu);
            const char *body =
                status == 200 ? "{\"experiment\":{\"experiment_id\":\"1\"}}"
                              : "{\"error_code\":\"UNAUTHENTICATED\","
                                "\"message\":\"credentials required\"}";
            char resp[512];
            int n = snprintf(
                resp, sizeof resp,
                "HTTP/1.1 %d X\r\nContent-Type: application/json"
                "\r\nContent-Length: %zu\r\n%s\r\n%s",
                status, strlen(body),
                status == 401 ? "WWW-Authenticate: Basic realm=\"x\"\r\n" : "",
                body);
            f->requests++; /* before the answer: the test reads it after */
            if (write(fd, resp, (size_t)n) < 0)
                goto out;
            memmove(buf, buf + hl + clen, have - hl - (size_t)clen);
            have -= hl + (size_t)clen;
            buf[have] = '\0';
        }
    }
out:
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        void **a = malloc(2 * sizeof *a);
        a[0] = f;
        a[1] = (void *)(intptr_t)fd;
        pthread_t th;
        pthread_create(&th, NULL, conn_main, a);
        pthread_detach(th);
    }
}

static void fake_start(struct fake *f, int status)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    f->status = status;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(f->lfd, (struct sockaddr *)&sa, sizeof sa);
    listen(f->lfd, 16);
    getsockname(f->lfd, (struct sockaddr *)&sa, &len);
    f->port = ntohs(sa.sin_port);
    pthread_t th;
    pthread_create(&th, NULL, accept_main, f);
    pthread_detach(th);
}

/* What the fake answers from now on. */
static void fake_status(struct fake *f, int status)
{
    pthread_mutex_lock(&f->mu);
    f->status = status;
    pthread_mutex_unlock(&f->mu);
}

static void test_wire(void)
{
    struct fake f;
    struct gt_creds cr;
    char base[64], err[1024];
    long status;
    int64_t ra;
    clear_env();
    fake_start(&f, 200);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", f.port);
    CHECK_EQ_INT(creds_init(&cr, base), 0);
    struct transport *t = transport_new(base, 5000, &cr);
    CHECK(t != NULL);

    CHECK_EQ_INT(
        transport_call(t, "GET", "/x", NULL, 0, &status, &ra, err, sizeof err),
        TP_OK);
    CHECK_EQ_STR(f.auth, "");
    creds_set_basic(&cr, "alice", "pw:1");
    CHECK_EQ_INT(
        transport_call(t, "POST", "/x", "{}", 2, &status, &ra, err, sizeof err),
        TP_OK);
    CHECK_EQ_STR(f.auth, "Basic YWxpY2U6cHc6MQ=="); /* alice:pw:1 */
    creds_set_token(&cr, "gtk_abc");
    CHECK_EQ_INT(
        transport_call(t, "GET", "/x", NULL, 0, &status, &ra, err, sizeof err),
        TP_OK);
    CHECK_EQ_STR(f.auth, "Bearer gtk_abc");

    fake_status(&f, 401);
    CHECK_EQ_INT(
        transport_call(t, "GET", "/x", NULL, 0, &status, &ra, err, sizeof err),
        TP_AUTH);
    CHECK_EQ_INT(status, 401);
    CHECK(strstr(err, "token") != NULL);
    CHECK(strstr(err, "gtk_abc") == NULL);
    fake_status(&f, 403);
    CHECK_EQ_INT(
        transport_call(t, "GET", "/x", NULL, 0, &status, &ra, err, sizeof err),
        TP_AUTH);
    CHECK(strstr(err, "403") != NULL);
    transport_free(t);
    creds_cleanup(&cr);

    /* a client whose server answers 401: spooled, said, not retried */
    char spool[300];
    snprintf(spool, sizeof spool, "%s/spool", tmp);
    fake_status(&f, 401);
    gt_client *c = gt_client_new(base);
    gt_client_set_spool_dir(c, spool);
    gt_client_set_energy(c, 0);
    gt_client_set_flush_timeout_ms(c, 2000);
    gt_run *run = NULL;
    CHECK_EQ_INT(gt_run_start(c, "e", "r", &run), GT_OK);
    for (int i = 0; i < 10; i++)
        gt_log_metric(run, "loss", 1.0 / (i + 1), i);
    gt_log_param(run, "lr", "0.1");
    CHECK_EQ_INT(gt_flush(c, 5000), GT_OK);
    gt_stats s;
    gt_client_stats(c, &s);
    CHECK_EQ_INT(s.dropped, 0);
    CHECK_EQ_INT(s.spooled, 11);
    const char *m = gt_client_errmsg(c);
    CHECK(strstr(m, "none are set") != NULL);
    CHECK(strstr(m, "spool") != NULL);
    int before = f.requests;
    for (int i = 0; i < 5; i++)
        gt_log_metric(run, "loss", 0.01, 100 + i);
    CHECK_EQ_INT(gt_flush(c, 5000), GT_OK);
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
    /* nothing more was sent: no retry loop against a 401 */
    CHECK_EQ_INT(f.requests, before);
    gt_run_end(run, GT_RUN_FINISHED);
    gt_client_free(c);
    CHECK_EQ_INT(f.requests, before);

    /* new credentials through a setter: the client tries again at once */
    char spool2[300];
    snprintf(spool2, sizeof spool2, "%s/spool2", tmp);
    c = gt_client_new(base);
    gt_client_set_spool_dir(c, spool2);
    gt_client_set_energy(c, 0);
    CHECK_EQ_INT(gt_run_start(c, "e", "r2", &run), GT_OK);
    gt_log_metric(run, "loss", 1.0, 0);
    CHECK_EQ_INT(gt_flush(c, 5000), GT_OK);
    gt_client_stats(c, &s);
    CHECK_EQ_INT(s.spooled, 1);
    fake_status(&f, 200);
    gt_client_set_token(c, "gtk_fixed");
    gt_log_metric(run, "loss", 0.5, 1);
    int64_t until = gt_mono_ms() + 5000;
    do {
        gt_flush(c, 1000);
        gt_client_stats(c, &s);
    } while (s.replayed < 1 && gt_mono_ms() < until);
    CHECK_EQ_INT(s.replayed, 1);
    CHECK_EQ_INT(s.sent, 2);
    CHECK_EQ_STR(f.auth, "Bearer gtk_fixed");
    gt_run_end(run, GT_RUN_FINISHED);
    gt_client_free(c);
    fake_status(&f, 401);

    /* the spool is kept; a replay with the right token sends it */
    c = gt_client_new(base);
    gt_client_set_spool_dir(c, spool);
    CHECK_EQ_INT(gt_spool_replay(c, NULL, NULL, 5000), GT_E_AUTH);
    CHECK(strstr(gt_client_errmsg(c), "401") != NULL);
    fake_status(&f, 200);
    gt_client_set_token(c, "gtk_good");
    CHECK_EQ_INT(gt_spool_replay(c, NULL, NULL, 5000), GT_OK);
    CHECK_EQ_STR(f.auth, "Bearer gtk_good");
    gt_client_stats(c, &s);
    CHECK_EQ_INT(s.replayed, 16); /* every data record, none lost */
    CHECK_EQ_INT(s.dropped, 0);
    gt_client_free(c);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/gt-creds-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    clear_env();
    test_file();
    test_sources();
    test_public();
    test_wire();
    if (old_home) {
        setenv("HOME", old_home, 1);
        free(old_home);
    }
    rm_rf(tmp);
    TEST_MAIN_END("test_client_creds");
}
