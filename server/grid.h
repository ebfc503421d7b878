/* SPDX-License-Identifier: MIT
 *
 * grid: live grid carbon intensity from the providers (UK Carbon
 * Intensity API, Electricity Maps, WattTime): which provider serves a
 * zone, fetching recorded and forecast periods (bounded timeouts, backoff
 * on 429 and 5xx, WattTime's login token cached and renewed), when a
 * cached forecast must be refetched, and the background thread that
 * records the intensity of the zones runs use so their CO2 follows.
 * Created by main; handlers reach it through struct app. All functions
 * are thread-safe. Fetches never run on the writer thread and hold no
 * database lock: what they return is recorded by a SW_GRID_RECORD write.
 */
#ifndef SERVER_GRID_H
#define SERVER_GRID_H

#include "config.h"
#include "err.h"
#include "grid_math.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct grid;

enum grid_source { GRID_SRC_UKCI, GRID_SRC_ELECTRICITYMAPS, GRID_SRC_WATTTIME };

/* "ukci", "electricitymaps", "watttime"; static. */
const char *grid_source_str(enum grid_source s);

/* The basis of a source's values: "direct", "lifecycle", "marginal". */
const char *grid_source_basis(enum grid_source s);

/* A zone id is 1..64 characters of [A-Za-z0-9_-]. */
bool grid_zone_valid(const char *zone);

/* Which provider serves 'zone': GB and GB-1..GB-17 the UK API; ids in
 * upper case with '_' (CAISO_NORTH) WattTime when it is configured; any
 * other Electricity Maps. 'source' (may be NULL) overrides: "ukci",
 * "electricitymaps" or "watttime". INVALID_PARAMETER_VALUE for a bad
 * zone or source, or "ukci" for a zone outside GB. */
enum srv_err grid_resolve(const struct grid *g, const char *zone,
                          const char *source, enum grid_source *out,
                          struct errbuf *eb);

/* Whether 'src' has what it needs (a token, an account). */
bool grid_source_configured(const struct grid *g, enum grid_source src);

/* Creates the module; 'cfg' and 'st' must outlive it. NULL when out of
 * memory. Call grid_start for the background thread. */
struct grid *grid_new(struct store *st, const struct config *cfg);

/* Starts the background refresh thread (not when cfg->grid_refresh_s is
 * 0). 0 on success. */
int grid_start(struct grid *g);

/* Makes fetches in flight give up at once and new ones fail (shutdown,
 * before http_stop). */
void grid_abort(struct grid *g);

/* Stops and joins the background thread (before store_close); then
 * grid_free. Both accept NULL. */
void grid_stop(struct grid *g);
void grid_free(struct grid *g);

/* grid/refresh's rate limit, per (zone, source): true when a refresh may
 * run now, which it then holds until grid_refresh_done. False while one
 * runs, or within the cache TTL (--grid-ttl-s) after one that brought
 * data (10 s after one that failed), with the seconds to wait in
 * '*retry_after_s'. */
bool grid_refresh_claim(struct grid *g, const char *zone, enum grid_source src,
                        unsigned *retry_after_s);

/* Ends a claim of grid_refresh_claim; 'ok' when it brought data. */
void grid_refresh_done(struct grid *g, const char *zone, enum grid_source src,
                       bool ok);

/* Fetches periods of 'zone' from 'src': GRID_ACTUAL asks for the recorded
 * past day, GRID_FORECAST for the forecast 'horizon_h' hours ahead (the
 * UK API always gives 48 h). Either may return periods of both kinds
 * (the UK API sends forecast and actual together). Blocks for at most
 * about twice the configured timeout. On success '*out' is a new array
 * (caller frees) with fetched_ms = now. Otherwise SRV_E_UNAVAILABLE with
 * a message naming the provider and the cause ("ukci: the provider
 * answered HTTP 500"), or INVALID_PARAMETER_VALUE when the provider
 * rejected the zone (HTTP 400/404). Messages may reach clients: the
 * provider's URL and what it wrote back go to the log (debug) only. */
enum srv_err grid_fetch(struct grid *g, const char *zone, enum grid_source src,
                        enum grid_kind kind, int horizon_h,
                        struct grid_point **out, size_t *n, struct errbuf *eb);

/* The forecast horizon (hours) to ask 'src' for to cover 'need_ms'. */
int grid_forecast_horizon(enum grid_source src, int64_t need_ms);

/* Whether the cached forecast timeline 'tl' of 'zone' from 'src' must be
 * refetched to answer for [now_ms, need_end_ms): it is older than the
 * TTL, does not cover [now_ms, min_end_ms), or stops before need_end_ms
 * although a longer horizon than last asked for could cover it. */
bool grid_forecast_stale(struct grid *g, const char *zone, enum grid_source src,
                         const struct grid_point *tl, size_t m, int64_t now_ms,
                         int64_t min_end_ms, int64_t need_end_ms);

/* Remembers that a forecast of 'horizon_h' hours was just fetched. */
void grid_note_forecast(struct grid *g, const char *zone, enum grid_source src,
                        int horizon_h);

#endif
