/* SPDX-License-Identifier: MIT
 *
 * pagetoken: encode/decode of {"offset": N} in base64 (see pagetoken.h).
 */
#include "pagetoken.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void pagetoken_append_json(struct strbuf *sb, int64_t offset)
{
    char json[48];
    int n =
        snprintf(json, sizeof(json), "{\"offset\": %lld}", (long long)offset);
    strbuf_append_char(sb, '"');
    for (int i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)json[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)json[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)json[i + 2];
        char out[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63],
                       i + 1 < n ? b64[(v >> 6) & 63] : '=',
                       i + 2 < n ? b64[v & 63] : '='};
        strbuf_append(sb, out, 4);
    }
    strbuf_append_char(sb, '"');
}

static int b64_value(char c)
{
    if (c == '-')
        return 62; /* urlsafe alphabet too */
    if (c == '_')
        return 63;
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

enum srv_err pagetoken_decode(const char *token, int64_t *offset,
                              struct errbuf *eb)
{
    *offset = 0;
    if (!token || !*token)
        return SRV_OK;
    char raw[96];
    size_t n = 0, len = strlen(token);
    unsigned acc = 0;
    int bits = 0;
    if (len > 120)
        goto bad;
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '=')
            break;
        int v = b64_value(token[i]);
        if (v < 0)
            goto bad;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= sizeof(raw) - 1)
                goto bad;
            raw[n++] = (char)((acc >> bits) & 0xFF);
        }
    }
    raw[n] = '\0';
    cJSON *j = cJSON_ParseWithLength(raw, n);
    const cJSON *o = j ? cJSON_GetObjectItemCaseSensitive(j, "offset") : NULL;
    bool ok = o && cJSON_IsNumber(o) && o->valuedouble >= 0 &&
              o->valuedouble == floor(o->valuedouble) &&
              o->valuedouble < 9.0e15;
    if (ok)
        *offset = (int64_t)o->valuedouble;
    cJSON_Delete(j);
    if (ok)
        return SRV_OK;
bad:
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Invalid page token, could not base64-decode or parse "
                   "it: '%.64s'",
                   token);
}
