/* SPDX-License-Identifier: MIT
 *
 * tls: the server's certificate and key for HTTPS (--tls-cert, --tls-key).
 * libmicrohttpd serves TLS through GnuTLS from PEM text in memory; this
 * module reads both files and checks them with GnuTLS at start, so a
 * missing or unreadable file, a file that is not PEM, an encrypted key or
 * a key that does not match the certificate is a one-line error before
 * the server listens. Certificates are read once: a new one takes a
 * restart.
 */
#ifndef SERVER_TLS_H
#define SERVER_TLS_H

#include <stddef.h>

/* GnuTLS priorities of the server: TLS 1.2 and 1.3 only, GnuTLS's normal
 * cipher choice within them. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* The PEM text of the certificate (chain) and key, NUL-terminated, owned
 * by the struct (tls_pair_free). */
struct tls_pair {
    char *cert_pem;
    char *key_pem;
};

/* Reads 'cert_path' and 'key_path' into 'out' and checks that they hold a
 * certificate and the unencrypted private key that matches it. 0, or -1
 * with a one-line reason in 'err' ('out' then holds nothing). */
int tls_load(const char *cert_path, const char *key_path, struct tls_pair *out,
             char *err, size_t errlen);

/* Frees (and wipes the key of) 'p'; a zeroed 'p' is a no-op. */
void tls_pair_free(struct tls_pair *p);

#endif
