/* SPDX-License-Identifier: MIT
 *
 * pagetoken: MLflow's opaque page tokens, base64 of {"offset": N}.
 */
#ifndef SERVER_PAGETOKEN_H
#define SERVER_PAGETOKEN_H

#include "err.h"
#include "strbuf.h"

#include <stdint.h>

/* Appends the token for 'offset' as a JSON string value. */
void pagetoken_append_json(struct strbuf *sb, int64_t offset);

/* Decodes 'token' (NULL or "" = offset 0). */
enum srv_err pagetoken_decode(const char *token, int64_t *offset,
                              struct errbuf *eb);

#endif
