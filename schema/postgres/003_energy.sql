-- SPDX-License-Identifier: MIT
-- PostgreSQL dialect of schema/sqlite/003_energy.sql: the same tables, columns,
-- keys and indexes. INTEGER is BIGINT, REAL DOUBLE PRECISION, a rowid
-- key an identity column, and text compares bytewise (COLLATE "C") as
-- in SQLite. tests/unit/test_schema_dialects.c checks they agree.
-- 003_energy: measured energy per run, as joules per component and time
-- window with the method of each (rapl, nvml-energy, nvml-power,
-- tdp-estimate, ram-model, codecarbon, ...). A sample may carry the grid
-- intensity measured for its window; otherwise the run's location decides
-- at read time, so CO2 follows location changes at once. run_energy holds
-- the per-run totals that ranking reads; the writer keeps it in step.
CREATE TABLE energy_samples (
    run_pk              BIGINT NOT NULL REFERENCES runs (run_pk),
    start_time          BIGINT NOT NULL,
    end_time            BIGINT NOT NULL,
    cpu_j               DOUBLE PRECISION NOT NULL,
    gpu_j               DOUBLE PRECISION NOT NULL,
    ram_j               DOUBLE PRECISION NOT NULL,
    other_j             DOUBLE PRECISION NOT NULL,
    cpu_method          TEXT COLLATE "C" NOT NULL,
    gpu_method          TEXT COLLATE "C" NOT NULL,
    ram_method          TEXT COLLATE "C" NOT NULL,
    scope               TEXT COLLATE "C" NOT NULL,
    intensity_g_per_kwh DOUBLE PRECISION,
    intensity_source    TEXT COLLATE "C",
    estimated           BIGINT NOT NULL, -- CPU or GPU energy not from a counter
    PRIMARY KEY (run_pk, start_time, end_time)
);

CREATE TABLE run_energy (
    run_pk         BIGINT PRIMARY KEY REFERENCES runs (run_pk),
    cpu_j          DOUBLE PRECISION NOT NULL,
    gpu_j          DOUBLE PRECISION NOT NULL,
    ram_j          DOUBLE PRECISION NOT NULL,
    other_j        DOUBLE PRECISION NOT NULL,
    plain_j        DOUBLE PRECISION NOT NULL, -- energy of samples without an intensity
    measured_j     DOUBLE PRECISION NOT NULL, -- energy of samples with one
    measured_gj    DOUBLE PRECISION NOT NULL, -- sum of joules x g/kWh of those
    first_start    BIGINT NOT NULL,
    last_end       BIGINT NOT NULL,
    samples        BIGINT NOT NULL,
    estimated      BIGINT NOT NULL -- samples with estimated CPU/GPU energy
);
