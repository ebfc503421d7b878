/* SPDX-License-Identifier: MIT
 *
 * cmd_login.c: `greentrack login` and `greentrack logout`. login asks the
 * server for an API token (greentrack's tokens/create) with the user's
 * name and password, then stores the token for the tracking URI in the
 * credentials file (gt_credentials_save: mode 0600), where libgreentrack,
 * the CLI and the Python binding find it. The password is read from the
 * terminal with echo off, or from standard input with --password-stdin:
 * never from the command line, so it never shows in `ps`. logout revokes
 * the stored token on the server and removes it from the file. whoami
 * says who the server takes the caller for.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define SECRET_MAX 1024

static const char LOGIN_USAGE[] =
    "usage: greentrack login [OPTIONS]\n"
    "\n"
    "Creates an API token on the tracking server with your user name and\n"
    "password and stores it for this tracking URI in the credentials file\n"
    "($XDG_CONFIG_HOME/greentrack/credentials, else\n"
    "~/.config/greentrack/credentials; mode 0600). libgreentrack, the\n"
    "greentrack command and the Python binding then use it, unless\n"
    "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or\n"
    "MLFLOW_TRACKING_TOKEN (GREENTRACK_TRACKING_TOKEN) are set. The\n"
    "password is asked on the terminal without echo; it is never an\n"
    "option, so it never shows in ps.\n"
    "\n"
    "Options:\n"
    "  --username USER        else $MLFLOW_TRACKING_USERNAME, else asked\n"
    "  --password-stdin       read the password from standard input (one\n"
    "                         line), e.g. from a secret store in CI\n"
    "  --name NAME            the token's name (default greentrack-cli)\n"
    "  --expires-in-days N    the token expires after N days (default:\n"
    "                         the server's)\n"
    "  --permission-ceiling P READ, EDIT or MANAGE: the token can do at\n"
    "                         most this, whatever the user may\n"
    "  --experiment-id ID     the token works on this experiment only\n"
    "  --tracking-uri URI, -v as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 logged in, 1 refused (wrong password, 429 after too\n"
    "many failures) or the file could not be written, 2 bad usage, 3 the\n"
    "server could not be reached.\n";

static const char LOGOUT_USAGE[] =
    "usage: greentrack logout [OPTIONS]\n"
    "\n"
    "Revokes the token `greentrack login` stored for this tracking URI and\n"
    "removes it from the credentials file (also when the server cannot\n"
    "revoke it; the message then says so).\n"
    "\n"
    "Options:\n"
    "  --tracking-uri URI, -v as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 logged out, 1 nothing stored or an error, 2 bad usage.\n";

static const char WHOAMI_USAGE[] =
    "usage: greentrack whoami [OPTIONS]\n"
    "\n"
    "Says who the tracking server takes you for with the credentials the\n"
    "library finds (see greentrack --help), and how they were sent.\n"
    "\n"
    "Options:\n"
    "  --tracking-uri URI, -v as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 authenticated (or the server runs without --auth), 1\n"
    "not authenticated or an error, 2 bad usage, 3 the server could not\n"
    "be reached.\n";

/* Overwrites a secret buffer (not optimized away). */
static void wipe(char *s, size_t n)
{
    volatile char *p = s;
    while (n--)
        *p++ = '\0';
}

/* Reads one line from 'fd' into 'buf' (without its newline). 0, or -1
 * when nothing could be read or the line is too long. */
static int read_line_fd(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t k = read(fd, &ch, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || ch == '\n')
            break;
        if (n + 1 >= cap) {
            wipe(buf, cap);
            return -1;
        }
        buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return n > 0 ? 0 : -1;
}

/* Asks 'prompt' on the terminal, with echo off when 'secret'. 0, or -1
 * (no terminal, or nothing typed). */
static int ask_tty(const char *prompt, int secret, char *buf, size_t cap)
{
    struct termios old, quiet;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    int rc;

    if (fd < 0) {
        return -1;
    }
    /* Echo goes off before the prompt is shown, so nothing typed after
     * the prompt can be echoed; typeahead is kept (TCSANOW). */
    if (secret) {
        if (tcgetattr(fd, &old) != 0) {
            close(fd);
            return -1;
        }
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        tcsetattr(fd, TCSANOW, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        if (secret) {
            tcsetattr(fd, TCSANOW, &old);
        }
        close(fd);
        return -1;
    }
    rc = read_line_fd(fd, buf, cap);
    if (secret) {
        tcsetattr(fd, TCSANOW, &old);
        if (write(fd, "\n", 1) < 0) {
            rc = rc == 0 ? 0 : -1;
        }
    }
    close(fd);
    return rc;
}

/* The "id" of tokens/create's answer as text (a number or a string). */
static int token_id_text(const cJSON *tok, char *out, size_t cap)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(tok, "id");

    if (cJSON_IsString(id) && id->valuestring[0] != '\0') {
        snprintf(out, cap, "%s", id->valuestring);
        return 0;
    }
    if (cJSON_IsNumber(id) && id->valuedouble >= 0 &&
        id->valuedouble < 9007199254740992.0) {
        snprintf(out, cap, "%.0f", id->valuedouble);
        return 0;
    }
    return -1;
}

struct login_opts {
    const char *username;
    const char *name;
    const char *ceiling;
    const char *experiment_id;
    long expires_days;
    int password_stdin;
};

static int login_parse(struct cli_global *g, int argc, char **argv,
                       struct login_opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(LOGIN_USAGE, stdout);
            return 1;
        }
        if (strcmp(argv[i], "--password-stdin") == 0) {
            o->password_stdin = 1;
            continue;
        }
        if (strncmp(argv[i], "--password", 10) == 0) {
            cli_err("a password is never an option (it would show in ps): "
                    "type it when asked, or use --password-stdin");
            return -1;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) != 0) {
            if (r < 0)
                return -1;
            continue;
        }
        if ((r = cli_opt(argc, argv, &i, "--username", &o->username)) ||
            (r = cli_opt(argc, argv, &i, "--name", &o->name)) ||
            (r = cli_opt(argc, argv, &i, "--permission-ceiling",
                         &o->ceiling)) ||
            (r = cli_opt(argc, argv, &i, "--experiment-id",
                         &o->experiment_id))) {
            if (r < 0)
                return -1;
            continue;
        }
        if ((r = cli_opt(argc, argv, &i, "--expires-in-days", &v)) != 0) {
            if (r < 0 || cli_parse_long(v, 1, 36500, &o->expires_days) != 0) {
                if (r > 0)
                    cli_err("--expires-in-days wants a number of days "
                            "from 1 to 36500, not '%s'",
                            v);
                return -1;
            }
            continue;
        }
        cli_err("unknown option '%s' (see greentrack login --help)", argv[i]);
        return -1;
    }
    if (o->ceiling && strcmp(o->ceiling, "READ") != 0 &&
        strcmp(o->ceiling, "EDIT") != 0 && strcmp(o->ceiling, "MANAGE") != 0) {
        cli_err("--permission-ceiling wants READ, EDIT or MANAGE, not '%s'",
                o->ceiling);
        return -1;
    }
    return 0;
}

/* The tokens/create body for 'o'; caller frees with cJSON_free. */
static char *login_body(const struct login_opts *o)
{
    cJSON *b = cJSON_CreateObject();
    char *text = NULL;

    if (b && cJSON_AddStringToObject(b, "name", o->name) &&
        (o->expires_days == 0 ||
         cJSON_AddNumberToObject(b, "expires_in_days",
                                 (double)o->expires_days)) &&
        (!o->ceiling ||
         cJSON_AddStringToObject(b, "permission_ceiling", o->ceiling)) &&
        (!o->experiment_id ||
         cJSON_AddStringToObject(b, "experiment_id", o->experiment_id))) {
        text = cJSON_PrintUnformatted(b);
    }
    cJSON_Delete(b);
    return text;
}

int cli_cmd_login(struct cli_global *g, int argc, char **argv)
{
    struct login_opts o = {NULL, "greentrack-cli", NULL, NULL, 0, 0};
    char user[256], pass[SECRET_MAX], id[64], err[512];
    gt_client *client;
    cJSON *resp = NULL;
    char *body;
    int rc;

    rc = login_parse(g, argc, argv, &o);
    if (rc != 0) {
        return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (o.username == NULL) {
        const char *e = getenv("MLFLOW_TRACKING_USERNAME");
        o.username = (e != NULL && *e != '\0') ? e : NULL;
    }
    if (o.username != NULL) {
        snprintf(user, sizeof user, "%s", o.username);
    } else if (o.password_stdin) {
        cli_err("with --password-stdin, give the user name with "
                "--username (or $MLFLOW_TRACKING_USERNAME)");
        return CLI_EXIT_USAGE;
    } else if (ask_tty("Username: ", 0, user, sizeof user) != 0) {
        cli_err("no user name: give --username (no terminal to ask on)");
        return CLI_EXIT_USAGE;
    }
    if (o.password_stdin ? read_line_fd(0, pass, sizeof pass) != 0
                         : ask_tty("Password: ", 1, pass, sizeof pass) != 0) {
        wipe(pass, sizeof pass);
        cli_err(o.password_stdin ? "no password on standard input"
                                 : "no password (no terminal to ask on: use "
                                   "--password-stdin)");
        return CLI_EXIT_USAGE;
    }
    client = cli_client_new(g);
    if (client == NULL) {
        wipe(pass, sizeof pass);
        return CLI_EXIT_ERROR;
    }
    if (gt_client_set_basic_auth(client, user, pass) != GT_OK) {
        wipe(pass, sizeof pass);
        gt_client_free(client);
        cli_err("a user name or password the server cannot be sent (empty, "
                "a control character, or ':' in the user name)");
        return CLI_EXIT_USAGE;
    }
    wipe(pass, sizeof pass);
    body = login_body(&o);
    if (body == NULL) {
        gt_client_free(client);
        cli_err("out of memory");
        return CLI_EXIT_ERROR;
    }
    rc = cli_call(client, "POST", "/api/2.0/greentrack/tokens/create", body,
                  "log in", &resp, NULL);
    cJSON_free(body);
    gt_client_free(client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(resp, "token");
    const cJSON *secret = cJSON_GetObjectItemCaseSensitive(resp, "secret");
    if (!cJSON_IsString(secret) || secret->valuestring[0] == '\0') {
        cJSON_Delete(resp);
        cli_err("cannot log in: the server's answer has no token secret");
        return CLI_EXIT_ERROR;
    }
    int have_id = token_id_text(tok, id, sizeof id) == 0;
    gt_status st =
        gt_credentials_save(g->tracking_uri, user, secret->valuestring,
                            have_id ? id : NULL, err, sizeof err);
    wipe(secret->valuestring, strlen(secret->valuestring));
    cJSON_Delete(resp);
    if (st != GT_OK) {
        cli_err("cannot store the token: %s (it was created on the server: "
                "revoke it there)",
                err);
        return CLI_EXIT_ERROR;
    }
    char *path = gt_credentials_path();
    fprintf(stderr,
            "greentrack: logged in to %s as %s; token '%s' stored in "
            "%s\n",
            g->tracking_uri, user, o.name,
            path ? path : "the credentials file");
    gt_free(path);
    return CLI_EXIT_OK;
}

/* The options of a command that takes only --help and the global ones:
 * -1 to go on, else the exit code (after the usage or an error). */
static int global_opts_only(struct cli_global *g, int argc, char **argv,
                            const char *usage, const char *cmd)
{
    for (int i = 0; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        cli_err("unknown option '%s' (see greentrack %s --help)", argv[i], cmd);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

int cli_cmd_logout(struct cli_global *g, int argc, char **argv)
{
    char err[512], *token = NULL, *id = NULL;
    gt_client *client;
    gt_status st;
    int rc = global_opts_only(g, argc, argv, LOGOUT_USAGE, "logout");

    if (rc >= 0)
        return rc;
    rc = CLI_EXIT_OK;
    st =
        gt_credentials_get(g->tracking_uri, NULL, &token, &id, err, sizeof err);
    if (st != GT_OK) {
        cli_err("not logged in to %s: %s", g->tracking_uri, err);
        return CLI_EXIT_ERROR;
    }
    client = id != NULL ? cli_client_new(g) : NULL;
    if (client != NULL && gt_client_set_token(client, token) == GT_OK) {
        /* the id as the server gave it: a number when it is one */
        char body[128];
        char *end;
        errno = 0;
        long long n = strtoll(id, &end, 10);
        if (errno == 0 && *end == '\0' && end != id && n >= 0) {
            snprintf(body, sizeof body, "{\"id\":%lld}", n);
        } else {
            cJSON *b = cJSON_CreateObject();
            char *t = NULL;
            if (b && cJSON_AddStringToObject(b, "id", id))
                t = cJSON_PrintUnformatted(b);
            snprintf(body, sizeof body, "%s", t ? t : "{}");
            cJSON_free(t);
            cJSON_Delete(b);
        }
        cJSON *resp = NULL;
        if (cli_call(client, "POST", "/api/2.0/greentrack/tokens/revoke", body,
                     "revoke the token", &resp, NULL) == CLI_EXIT_OK) {
            cJSON_Delete(resp);
        } else {
            cli_err("the token was not revoked on the server (revoke it in "
                    "the web UI's tokens page); removing it here anyway");
            rc = CLI_EXIT_ERROR;
        }
    } else if (id == NULL) {
        cli_err("no token id stored: revoke the token in the web UI");
    }
    gt_client_free(client);
    if (token != NULL)
        wipe(token, strlen(token));
    gt_free(token);
    gt_free(id);
    st = gt_credentials_remove(g->tracking_uri, err, sizeof err);
    if (st != GT_OK) {
        cli_err("cannot remove the stored token: %s", err);
        return CLI_EXIT_ERROR;
    }
    fprintf(stderr, "greentrack: logged out of %s\n", g->tracking_uri);
    return rc;
}

int cli_cmd_whoami(struct cli_global *g, int argc, char **argv)
{
    gt_client *client;
    cJSON *resp = NULL;
    int rc;

    if ((rc = global_opts_only(g, argc, argv, WHOAMI_USAGE, "whoami")) >= 0)
        return rc;
    if ((client = cli_client_new(g)) == NULL) {
        return CLI_EXIT_ERROR;
    }
    rc = cli_call(client, "GET", "/api/2.0/greentrack/auth/whoami", NULL,
                  "ask who you are", &resp, NULL);
    gt_client_free(client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    const cJSON *on = cJSON_GetObjectItemCaseSensitive(resp, "auth_enabled");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(resp, "user");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(user, "username");
    const cJSON *admin = cJSON_GetObjectItemCaseSensitive(user, "is_admin");
    const cJSON *how = cJSON_GetObjectItemCaseSensitive(resp, "auth_method");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(resp, "token");
    const cJSON *ceil =
        cJSON_GetObjectItemCaseSensitive(tok, "permission_ceiling");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(tok, "experiment_id");
    if (cJSON_IsFalse(on)) {
        printf("%s runs without --auth: every client may do everything\n",
               g->tracking_uri);
        rc = CLI_EXIT_OK;
    } else if (!cJSON_IsString(name)) {
        cli_err("not authenticated on %s (no credentials, or refused): set "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or "
                "MLFLOW_TRACKING_TOKEN, or run `greentrack login`",
                g->tracking_uri);
        rc = CLI_EXIT_ERROR;
    } else {
        printf("%s%s on %s, by %s", name->valuestring,
               cJSON_IsTrue(admin) ? " (admin)" : "", g->tracking_uri,
               cJSON_IsString(how) ? how->valuestring : "?");
        if (cJSON_IsObject(tok)) {
            printf(" (ceiling %s%s%s)",
                   cJSON_IsString(ceil) ? ceil->valuestring : "none",
                   cJSON_IsString(exp) ? ", experiment " : "",
                   cJSON_IsString(exp) ? exp->valuestring : "");
        }
        printf("\n");
        rc = CLI_EXIT_OK;
    }
    cJSON_Delete(resp);
    return rc;
}
