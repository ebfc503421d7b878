/* SPDX-License-Identifier: MIT
 *
 * migrate: `greentrack-server migrate`, which copies a greentrack
 * installation's SQLite database into PostgreSQL (every table, resumable
 * chunk by chunk, verified table by table at the end). See
 * docs/postgresql.md and `greentrack-server migrate --help`.
 */
#ifndef SERVER_MIGRATE_H
#define SERVER_MIGRATE_H

/* Runs the migrate subcommand: argv[0] is "migrate", the rest its flags.
 * Returns the exit status: 0 when the copy (or --verify-only) ended with
 * every table matching, 1 on a mismatch or a failure, 2 on bad usage. */
int migrate_main(int argc, char **argv);

#endif
