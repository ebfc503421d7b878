/* SPDX-License-Identifier: MIT
 *
 * runid: greentrack's run ids as 32 lowercase hex digits: a random one,
 * and the UUID spelling (8-4-4-4-12) CodeCarbon's API uses, both ways.
 * Pure apart from the kernel's random bytes; thread-safe.
 */
#ifndef SERVER_RUNID_H
#define SERVER_RUNID_H

#include "model.h"

#include <stdbool.h>

#define RUNID_UUID_LEN 36

/* Writes a random id (RUN_ID_LEN hex digits and a NUL) into 'out'. */
void runid_random(char out[RUN_ID_LEN + 1]);

/* Writes 'hex' (RUN_ID_LEN hex digits) as a UUID, NUL-ended, into
 * 'out'. */
void runid_to_uuid(const char *hex, char out[RUNID_UUID_LEN + 1]);

/* Reads a UUID (hex digits of either case, dashes anywhere) into 'out'
 * as lowercase hex; false when it is not RUN_ID_LEN hex digits. */
bool runid_from_uuid(const char *uuid, char out[RUN_ID_LEN + 1]);

#endif
