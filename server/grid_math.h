/* SPDX-License-Identifier: MIT
 *
 * grid_math: the pure arithmetic of grid-intensity time series: periods
 * of recorded or forecast intensity (struct grid_point), ISO 8601 times,
 * the effective timeline when periods overlap, how a run's energy samples
 * spread over that timeline (zone accounting) and the best start of a job
 * over a forecast (scheduling). No I/O; only grid_timeline allocates.
 * Thread-safe. Used by the store (store/write_energy.c and store/read_carbon.c:
 * accounting), grid.c and the handlers under handlers/greentrack/ (schedule.c,
 * grid.c).
 */
#ifndef SERVER_GRID_MATH_H
#define SERVER_GRID_MATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum grid_kind { GRID_ACTUAL, GRID_FORECAST };

/* One period [start_ms, end_ms) of one provider's intensity for a zone.
 * 'source' is the provider ("ukci", "electricitymaps", "watttime"),
 * 'basis' what the number counts ("direct", "lifecycle", "marginal"). */
struct grid_point {
    int64_t start_ms, end_ms;
    double g_per_kwh;
    enum grid_kind kind;
    int64_t fetched_ms;
    char source[24];
    char basis[16];
};

/* "actual" or "forecast"; static. */
const char *grid_kind_name(enum grid_kind k);

/* Parses "actual"/"forecast"; false for anything else. */
bool grid_kind_parse(const char *s, enum grid_kind *out);

/* Parses an ISO 8601 UTC time as the providers write it:
 * "2026-11-25T17:00Z", "2026-11-25T17:00:05Z", "...:05.123Z",
 * "...+00:00" (any offset is applied). False when 's' is not one. */
bool grid_parse_iso(const char *s, int64_t *ms);

/* Writes 'ms' as "2026-11-25T17:00:05Z" (seconds, truncated) into 'buf'
 * (at least 32 bytes); returns 'buf'. */
char *grid_format_iso(int64_t ms, char *buf, size_t len);

/* The same to the minute, "2026-11-25T17:00Z" (the UK API's form). */
char *grid_format_iso_minute(int64_t ms, char *buf, size_t len);

/* The effective timeline of 'pts' (any order, may overlap): sorted,
 * non-overlapping pieces where each instant takes the value of the best
 * point covering it: an actual before a forecast, then the most recently
 * fetched, then the smaller source name. Returns the number of pieces in
 * '*out' (caller frees; NULL when none); (size_t)-1 when out of memory. */
size_t grid_timeline(const struct grid_point *pts, size_t n,
                     struct grid_point **out);

#define GRID_COVER_SOURCES 4 /* ukci, electricitymaps, watttime, other */

/* How much energy the timeline covered, accumulated sample by sample. */
struct grid_cover {
    double covered_j;   /* joules that fell into some period */
    double covered_gj;  /* sum of those joules x their g/kWh */
    double actual_j;    /* of covered_j, in actual periods */
    double forecast_j;  /* of covered_j, in forecast periods */
    double uncovered_j; /* joules of the samples outside every period */
    /* per source (index by grid_source_index): joules used by kind */
    double source_j[GRID_COVER_SOURCES][2];
    char basis[GRID_COVER_SOURCES][16];
};

/* Index of a source name in grid_cover's arrays. */
int grid_source_index(const char *source);

/* Name of index 'i' ("other" for the last); static. */
const char *grid_source_name(int i);

/* Adds one energy sample [start_ms, end_ms) of 'joules' to 'acc', spread
 * over the timeline 'tl' (from grid_timeline) in proportion to time
 * overlap (constant power within a sample): the part that falls into a
 * period takes that period's intensity, the rest is uncovered. */
void grid_cover_add(struct grid_cover *acc, const struct grid_point *tl,
                    size_t m, int64_t start_ms, int64_t end_ms, double joules);

/* A label naming what 'acc' used for zone 'zone', e.g.
 * "ukci:GB actual" or "ukci:GB actual+forecast"; "" when nothing was
 * covered. */
void grid_cover_label(const struct grid_cover *acc, const char *zone, char *buf,
                      size_t len);

/* The best start of a job of 'duration_ms' beginning within
 * [now_ms, now_ms + within_ms] over the forecast timeline 'tl' (sorted,
 * non-overlapping). Candidates are 'now' and every period boundary in
 * that range whose whole job window is covered by the timeline; the mean
 * is overlap-weighted; ties go to the earliest start. */
struct grid_schedule {
    int64_t best_start_ms;
    double best_mean, now_mean;
    int64_t covered_until_ms; /* end of contiguous coverage from now */
    size_t candidates;        /* windows evaluated */
};

enum grid_schedule_result {
    GRID_SCHEDULE_OK,
    GRID_SCHEDULE_NOW_NOT_COVERED /* [now, now+duration] has a gap */
};

enum grid_schedule_result grid_schedule_best(const struct grid_point *tl,
                                             size_t m, int64_t now_ms,
                                             int64_t within_ms,
                                             int64_t duration_ms,
                                             struct grid_schedule *out);

/* The overlap-weighted mean intensity of [start_ms, end_ms) over 'tl';
 * false when part of the window has no period. */
bool grid_window_mean(const struct grid_point *tl, size_t m, int64_t start_ms,
                      int64_t end_ms, double *mean);

#endif
