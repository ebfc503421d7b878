-- SPDX-License-Identifier: MIT
-- PostgreSQL dialect of schema/sqlite/004_grid.sql: the same tables, columns,
-- keys and indexes. INTEGER is BIGINT, REAL DOUBLE PRECISION, a rowid
-- key an identity column, and text compares bytewise (COLLATE "C") as
-- in SQLite. tests/unit/test_schema_dialects.c checks they agree.
-- 004_grid: grid carbon intensity fetched from the providers (UK Carbon
-- Intensity API, Electricity Maps, WattTime), per zone (the providers' own
-- ids: GB, GB-1..GB-17, DE, US-CAL-CISO, CAISO_NORTH). One row is one
-- period [start_ms, end_ms) of one source and kind (actual = recorded,
-- forecast), with its basis (direct, lifecycle, marginal) kept as the
-- source gives it. Forecasts are a cache for scheduling; both kinds give
-- runs tagged greentrack.zone the intensity of their own time.
CREATE TABLE grid_intensity (
    zone       TEXT COLLATE "C" NOT NULL,
    source     TEXT COLLATE "C" NOT NULL,
    basis      TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL CHECK (kind IN ('actual', 'forecast')),
    start_ms   BIGINT NOT NULL,
    end_ms     BIGINT NOT NULL CHECK (end_ms > start_ms),
    g_per_kwh  DOUBLE PRECISION NOT NULL,
    fetched_ms BIGINT NOT NULL,
    PRIMARY KEY (zone, source, kind, start_ms)
);

-- accounting reads a zone's periods by time, whatever their source
CREATE INDEX grid_intensity_by_time ON grid_intensity (zone, start_ms);

-- the runs of a zone, when new periods arrive
CREATE INDEX tags_zone ON tags (value) WHERE key = 'greentrack.zone';
