/* SPDX-License-Identifier: MIT
 *
 * err: server-internal result codes and MLflow's error codes. One X-macro
 * list maps each MLflow error_code to its HTTP status, so the two cannot
 * drift. Internal functions return enum srv_err and write detail into a
 * caller-owned struct errbuf (curl's error-buffer pattern).
 */
#ifndef SERVER_ERR_H
#define SERVER_ERR_H

#include <stdarg.h>

/* MLflow error_code name, HTTP status (specs/mlflow-rest.md section 2). */
#define FOR_EACH_SRV_ERR(X)                                                    \
    X(SRV_OK, "OK", 200)                                                       \
    X(SRV_E_INVALID_PARAMETER_VALUE, "INVALID_PARAMETER_VALUE", 400)           \
    X(SRV_E_RESOURCE_ALREADY_EXISTS, "RESOURCE_ALREADY_EXISTS", 400)           \
    X(SRV_E_BAD_REQUEST, "BAD_REQUEST", 400)                                   \
    X(SRV_E_RESOURCE_DOES_NOT_EXIST, "RESOURCE_DOES_NOT_EXIST", 404)           \
    X(SRV_E_ENDPOINT_NOT_FOUND, "ENDPOINT_NOT_FOUND", 404)                     \
    X(SRV_E_METHOD_NOT_ALLOWED, "BAD_REQUEST", 405)                            \
    X(SRV_E_TOO_LARGE, "INVALID_PARAMETER_VALUE", 413)                         \
    X(SRV_E_INVALID_STATE, "INVALID_STATE", 500)                               \
    X(SRV_E_INTERNAL, "INTERNAL_ERROR", 500)                                   \
    X(SRV_E_NOMEM, "INTERNAL_ERROR", 500)                                      \
    X(SRV_E_UNAVAILABLE, "TEMPORARILY_UNAVAILABLE", 503)                       \
    X(SRV_E_PERMISSION_DENIED, "PERMISSION_DENIED", 403)                       \
    X(SRV_E_RANGE_NOT_SATISFIABLE, "INVALID_PARAMETER_VALUE", 416)             \
    X(SRV_E_NOT_IMPLEMENTED, "NOT_IMPLEMENTED", 501)                           \
    X(SRV_E_URI_TOO_LONG, "INVALID_PARAMETER_VALUE", 414)                      \
    X(SRV_E_HEADERS_TOO_LARGE, "INVALID_PARAMETER_VALUE", 431)                 \
    X(SRV_E_RATE_LIMITED, "REQUEST_LIMIT_EXCEEDED", 429)                       \
    X(SRV_E_UNAUTHENTICATED, "UNAUTHENTICATED", 401)                           \
    X(SRV_E_MISDIRECTED, "BAD_REQUEST", 421)

enum srv_err {
#define SRV_ERR_ENUM(name, code, status) name,
    FOR_EACH_SRV_ERR(SRV_ERR_ENUM)
#undef SRV_ERR_ENUM
};

/* Room for MLflow's usual messages with a name quoted up to 250
 * characters of two-byte UTF-8 (longer ones are cut, see err_set). */
struct errbuf {
    char msg[1024];
};

/* MLflow's error_code string for 'e'; static storage. */
const char *err_code_name(enum srv_err e);

/* HTTP status for 'e'. */
unsigned err_http_status(enum srv_err e);

/* Formats into 'eb' (may be NULL) and returns 'e', so callers can write
 * `return err_set(eb, SRV_E_..., "fmt", ...);`. A message cut to fit
 * loses any UTF-8 sequence it cut through, so it stays valid text. */
enum srv_err err_set(struct errbuf *eb, enum srv_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
