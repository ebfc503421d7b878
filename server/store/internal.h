/* SPDX-License-Identifier: MIT
 *
 * store_int: what the store's domain files (store_registry.c) use of
 * store.c's internals: the connections, their statement caches and the
 * readers' helpers. Not a published API: only files of the store include
 * it (like sqlite's *Int.h), and only they include sqlite3.h.
 *
 * A domain file keeps its SQL in its own table and numbers its statements
 * from 0 to STORE_DOMAIN_STMTS - 1; each connection prepares one on first
 * use and keeps it (store_conn_stmt), as store.c does with its own.
 */
#ifndef SERVER_STORE_INT_H
#define SERVER_STORE_INT_H

#include "filter.h"
#include "store.h"

#include <sqlite3.h>

/* Statement slots per connection for the domain files. */
#define STORE_DOMAIN_STMTS 128

/* Where each domain file's slots begin: registry 0..47, greenai 48..79,
 * auth 80..127 (STORE_AUTH_STMT_BASE, store_auth.h). */
#define STORE_GREENAI_STMT_BASE 48

/* A database connection: the writer's or a reader thread's. */
struct conn;

/* This thread's read connection, opened on first use; NULL (with 'eb'
 * set) when it cannot be opened. */
struct conn *store_reader(struct store *st, struct errbuf *eb);

sqlite3 *store_conn_db(struct conn *c);

/* Domain statement 'slot' with text 'sql' (the same for a slot every
 * time), prepared on first use and reset with its bindings cleared for
 * reuse; NULL (logged) when it cannot be prepared. */
sqlite3_stmt *store_conn_stmt(struct conn *c, unsigned slot, const char *sql);

/* Logs the connection's last SQLite error and maps it to the client's
 * error (busy: UNAVAILABLE, else INTERNAL), with 'what' in the log. */
enum srv_err store_conn_error(struct conn *c, struct errbuf *eb,
                              const char *what);

/* Binds the parameters of filter fragment 'f' from position '*pos' on. */
void store_bind_frag(sqlite3_stmt *s, const struct sql_frag *f, int *pos);

/* A copy of column 'i' (caller frees); NULL for SQL NULL or no memory. */
char *store_col_dup(sqlite3_stmt *s, int i);

/* Records, on the writer, that the current write changed run 'run_pk'
 * (the change journal behind store_changed_runs). */
void store_conn_note_run(struct conn *c, int64_t run_pk);

/* Makes room for element 'n' of an array of 'elem'-sized items with
 * '*cap' allocated: returns the (possibly moved) array, or NULL when out
 * of memory, leaving the old array valid. */
void *store_grow(void *arr, size_t n, size_t *cap, size_t elem);

/* Steps a statement that returns no rows and resets it; a NULL 's' (it
 * could not be prepared) or a failed step is store_conn_error's. */
enum srv_err store_step_done(struct conn *c, sqlite3_stmt *s, struct errbuf *eb,
                             const char *what);

/* Steps a statement that returns one row or none and resets it: '*found'
 * tells whether there was a row, whose column 0 is then in '*v'. A NULL
 * 's' or a failed step is store_conn_error's. */
enum srv_err store_step_int64(struct conn *c, sqlite3_stmt *s, int64_t *v,
                              bool *found, struct errbuf *eb, const char *what);

/* Steps a search statement (whose LIMIT asked for max+1 rows) and turns
 * up to 'max' rows into an array of zeroed 'elem'-sized items with
 * 'from_row'; '*more' tells whether a further row exists. Returns the
 * array (with '*n' items, also on error, for the caller to free). */
void *store_read_page(struct conn *c, sqlite3_stmt *s, int64_t max, size_t elem,
                      enum srv_err (*from_row)(sqlite3_stmt *, void *,
                                               struct errbuf *),
                      size_t *n, bool *more, enum srv_err *e,
                      struct errbuf *eb);

/* Reads the (key, value) rows of 's' (bound, not yet stepped) into a new
 * array (free with kv_array_free). */
enum srv_err store_read_kvs(struct conn *c, sqlite3_stmt *s, struct kv **out,
                            size_t *n, struct errbuf *eb);

/* Runs one write of kind SW_REGISTRY on the writer's connection, inside
 * the writer's transaction (store_registry.c). */
enum srv_err store_registry_exec(struct conn *c, struct store_write *w);

/* Runs one write of kind SW_GREENAI on the writer's connection, inside
 * the writer's transaction (store_greenai.c). */
enum srv_err store_greenai_exec(struct conn *c, struct store_write *w);

/* The writer's check of run tags about to be written to run 'run_id':
 * greentrack.base_run_id must name another run on this server without
 * making a cycle of bases or a chain deeper than GREENAI_MAX_DEPTH, and
 * greentrack.base_co2_kg must be a number >= 0 (INVALID_PARAMETER_VALUE
 * otherwise). */
enum srv_err store_greenai_check_tags(struct conn *c, const char *run_id,
                                      const struct kv_ref *tags, size_t n,
                                      struct errbuf *eb);

/* Runs one write of kind SW_AUTH on the writer's connection, inside the
 * writer's transaction (store_auth.c). */
enum srv_err store_auth_exec(struct conn *c, struct store_write *w);

/* Grants user 'user_id' MANAGE on experiment id 'resource' (model name
 * when 'model'), replacing a grant it had: the creator's grant, run by
 * the writer in the creating write's transaction (store_auth.c). */
enum srv_err store_auth_grant_owner(struct conn *c, bool model,
                                    const char *resource, int64_t user_id,
                                    struct errbuf *eb);

/* Moves the grants of registered model 'name' to 'new_name' (a rename),
 * or deletes them when 'new_name' is NULL (a delete): run by the writer
 * in the registry write's transaction (store_auth.c). */
enum srv_err store_auth_model_moved(struct conn *c, const char *name,
                                    const char *new_name, struct errbuf *eb);

#endif
