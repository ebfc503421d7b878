/* SPDX-License-Identifier: MIT
 *
 * tls: loading and checking the certificate and key (see tls.h). The
 * only file besides http.c that knows about GnuTLS.
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A PEM file is small: a chain of a few certificates. */
#define TLS_MAX_FILE (1024 * 1024)

/* Reads the regular file 'path' into a new NUL-terminated buffer
 * ('*len' bytes before the NUL). NULL with 'err' set ('what' names the
 * flag for the message). */
static char *read_pem(const char *path, const char *what, size_t *len,
                      char *err, size_t errlen)
{
    char why[128] = "";
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (strerror_r(errno, why, sizeof(why)) != 0)
            snprintf(why, sizeof(why), "error %d", errno);
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(why, sizeof(why), "not a regular file");
    } else if (st.st_size <= 0 || st.st_size > TLS_MAX_FILE) {
        snprintf(why, sizeof(why), "%s",
                 st.st_size ? "larger than 1 MiB" : "empty file");
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        snprintf(why, sizeof(why), "out of memory");
    } else {
        size_t got = 0, want = (size_t)st.st_size;
        while (got < want) {
            ssize_t n = read(fd, buf + got, want - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                if (n == 0 || strerror_r(errno, why, sizeof(why)) != 0)
                    snprintf(why, sizeof(why), "short read");
                break;
            }
            got += (size_t)n;
        }
        buf[got] = '\0';
        *len = got;
        if (why[0]) {
            free(buf);
            buf = NULL;
        }
    }
    if (fd >= 0)
        close(fd);
    if (!buf)
        snprintf(err, errlen, "cannot read %s %s: %s", what, path, why);
    return buf;
}

static void wipe_free(char *s)
{
    if (!s)
        return;
    volatile char *v = s;
    while (*v)
        *v++ = '\0';
    free(s);
}

int tls_load(const char *cert_path, const char *key_path, struct tls_pair *out,
             char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    size_t clen = 0, klen = 0;
    char *cert = read_pem(cert_path, "--tls-cert", &clen, err, errlen);
    if (!cert)
        return -1;
    char *key = read_pem(key_path, "--tls-key", &klen, err, errlen);
    if (!key) {
        free(cert);
        return -1;
    }
    gnutls_datum_t cd = {(unsigned char *)cert, (unsigned)clen};
    gnutls_datum_t kd = {(unsigned char *)key, (unsigned)klen};
    int rc = -1;
    gnutls_x509_crt_t crt = NULL;
    gnutls_x509_privkey_t pk = NULL;
    gnutls_certificate_credentials_t cred = NULL;
    int e;
    if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_privkey_init(&pk) < 0 ||
        gnutls_certificate_allocate_credentials(&cred) < 0) {
        snprintf(err, errlen, "cannot start GnuTLS");
        goto out;
    }
    if ((e = gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM)) < 0) {
        snprintf(err, errlen, "--tls-cert %s holds no PEM certificate: %s",
                 cert_path, gnutls_strerror(e));
        goto out;
    }
    if (strstr(key, "ENCRYPTED")) {
        snprintf(err, errlen,
                 "--tls-key %s is encrypted; give the server an unencrypted "
                 "key (readable by its user only)",
                 key_path);
        goto out;
    }
    if ((e = gnutls_x509_privkey_import2(pk, &kd, GNUTLS_X509_FMT_PEM, NULL,
                                         GNUTLS_PKCS_PLAIN)) < 0) {
        snprintf(err, errlen, "--tls-key %s holds no PEM private key: %s",
                 key_path, gnutls_strerror(e));
        goto out;
    }
    e = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd,
                                             GNUTLS_X509_FMT_PEM, NULL, 0);
    if (e == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
        snprintf(err, errlen,
                 "--tls-key %s does not match the certificate in --tls-cert "
                 "%s",
                 key_path, cert_path);
        goto out;
    }
    if (e < 0) {
        snprintf(err, errlen, "cannot use --tls-cert %s with --tls-key %s: %s",
                 cert_path, key_path, gnutls_strerror(e));
        goto out;
    }
    out->cert_pem = cert;
    out->key_pem = key;
    cert = key = NULL;
    rc = 0;
out:
    if (cred)
        gnutls_certificate_free_credentials(cred);
    if (pk)
        gnutls_x509_privkey_deinit(pk);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    free(cert);
    wipe_free(key);
    return rc;
}

void tls_pair_free(struct tls_pair *p)
{
    free(p->cert_pem);
    wipe_free(p->key_pem);
    p->cert_pem = p->key_pem = NULL;
}
