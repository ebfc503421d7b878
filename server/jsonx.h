/* SPDX-License-Identifier: MIT
 *
 * jsonx: reading MLflow request fields out of a parsed request (a cJSON
 * object built from the JSON body, or from the query string of a GET, where
 * every value is a string and a repeated key is an array). Each getter
 * applies protobuf-JSON leniency (int64 as number or decimal string, double
 * as number or "NaN"/"Infinity" string, enum as name or number) and writes
 * MLflow's exact error messages. Returned strings are borrowed from the
 * cJSON tree and valid while it lives.
 */
#ifndef SERVER_JSONX_H
#define SERVER_JSONX_H

#include "err.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Query-string values are collected in arrays marked with this valueint,
 * so a scalar field takes the first value and a repeated field all of
 * them, while a JSON body must use the right type for each. */
#define JX_QUERY_VALUES 0x51

/* Largest integer accepted in a request: 2^53, the range JSON numbers hold
 * exactly in every client. */
#define JX_MAX_SAFE_INT 9007199254740992LL

/* Parses a request body ('body' must be NUL-terminated at 'len'; the
 * terminator is not counted). Checks UTF-8, rejects integer literals beyond
 * 2^53 and nesting deeper than cJSON's limit, and requires an object (a
 * JSON string holding an object is decoded once more, as MLflow does for
 * old clients). On success '*out' is a new tree the caller frees with
 * cJSON_Delete. An empty body yields an empty object. */
enum srv_err jx_parse_body(const char *body, size_t len, cJSON **out,
                           struct errbuf *eb);

/* A string field. Absent or JSON null: *out = NULL, and an error when
 * 'required' (an empty string counts as absent for required fields). */
enum srv_err jx_str(const cJSON *obj, const char *field, bool required,
                    const char **out, struct errbuf *eb);

/* An id field that MLflow also accepts as a JSON number (experiment_id):
 * written into 'buf' as text. '*present' tells whether it was given. */
enum srv_err jx_id(const cJSON *obj, const char *field, bool required,
                   char *buf, size_t buflen, bool *present, struct errbuf *eb);

/* run_id, falling back to the deprecated run_uuid where 'allow_uuid'. */
enum srv_err jx_run_id(const cJSON *obj, bool allow_uuid, const char **out,
                       struct errbuf *eb);

/* An int64 field (number or decimal string, |v| <= 2^53). */
enum srv_err jx_i64(const cJSON *obj, const char *field, bool required,
                    bool *present, int64_t *out, struct errbuf *eb);

/* A double field: number, or a string holding a number, "NaN",
 * "Infinity" or "-Infinity". Booleans are rejected. */
enum srv_err jx_double(const cJSON *obj, const char *field, bool required,
                       bool *present, double *out, struct errbuf *eb);

/* A bool: JSON true/false, or the strings "true"/"false" in any case. */
enum srv_err jx_bool(const cJSON *obj, const char *field, bool *present,
                     bool *out, struct errbuf *eb);

/* An enum given by name (one of 'names', index = value) or by number
 * (names[i] has number first_number + i). */
enum srv_err jx_enum(const cJSON *obj, const char *field,
                     const char *const *names, int count, int first_number,
                     bool *present, int *out, struct errbuf *eb);

/* A repeated string field: an array of strings. '*out' is
 * a malloc'd array of borrowed strings (caller frees the array only). */
enum srv_err jx_str_list(const cJSON *obj, const char *field, const char ***out,
                         size_t *count, struct errbuf *eb);

/* A repeated message field: NULL when absent, else an array (error if it is
 * not one). */
enum srv_err jx_array(const cJSON *obj, const char *field, const cJSON **out,
                      struct errbuf *eb);

/*---- values as MLflow's messages show them (messages.h) ----*/

/* Set in a number's cJSON type bits by jx_parse_body when the body wrote
 * it with a fraction or an exponent ("9.0", "1e3"): Python reads such a
 * literal as a float, and MLflow's messages say 9.0 and 'float'. */
#define JX_FLOAT_LITERAL (1 << 12)

/* Appends Python's str() of 'v', as MLflow puts a request value in its
 * messages: a string as it is, a number as Python prints its int or float
 * (9, 9.0, 1e+16), true/false/null as True/False/None, and an array or
 * object as the repr() of the list or dict ({'key': 'm', 'value': 1}). */
void jx_py_str(struct strbuf *sb, const cJSON *v);

/* Appends Python's repr() of the string 's' ('a', "it's"). */
void jx_py_repr_str(struct strbuf *sb, const char *s);

/* Python's name for the type of 'v': str, int, float, bool, list, dict or
 * NoneType. */
const char *jx_py_type(const cJSON *v);

/* Python's repr() of a float ("1.0", "0.1", "1e+16", "nan", "inf") in
 * 'buf' (32 bytes are enough); returns 'buf'. */
const char *jx_py_float(double d, char *buf, size_t len);

/* MSG_INVALID_PARAM for value 'v' of 'field' (v not NULL). */
enum srv_err jx_invalid(const cJSON *v, const char *field, struct errbuf *eb);

/* Number of Unicode code points in a UTF-8 string. */
size_t jx_utf8_len(const char *s);

/* Byte length of the first 'max_chars' code points of 's'. */
size_t jx_utf8_prefix(const char *s, size_t max_chars);

#endif
