-- SPDX-License-Identifier: MIT
-- 003_energy: measured energy per run, as joules per component and time
-- window with the method of each (rapl, nvml-energy, nvml-power,
-- tdp-estimate, ram-model, codecarbon, ...). A sample may carry the grid
-- intensity measured for its window; otherwise the run's location decides
-- at read time, so CO2 follows location changes at once. run_energy holds
-- the per-run totals that ranking reads; the writer keeps it in step.
CREATE TABLE energy_samples (
    run_pk              INTEGER NOT NULL REFERENCES runs (run_pk),
    start_time          INTEGER NOT NULL,
    end_time            INTEGER NOT NULL,
    cpu_j               REAL NOT NULL,
    gpu_j               REAL NOT NULL,
    ram_j               REAL NOT NULL,
    other_j             REAL NOT NULL,
    cpu_method          TEXT NOT NULL,
    gpu_method          TEXT NOT NULL,
    ram_method          TEXT NOT NULL,
    scope               TEXT NOT NULL,
    intensity_g_per_kwh REAL,
    intensity_source    TEXT,
    estimated           INTEGER NOT NULL, -- CPU or GPU energy not from a counter
    PRIMARY KEY (run_pk, start_time, end_time)
) STRICT, WITHOUT ROWID;

CREATE TABLE run_energy (
    run_pk         INTEGER PRIMARY KEY REFERENCES runs (run_pk),
    cpu_j          REAL NOT NULL,
    gpu_j          REAL NOT NULL,
    ram_j          REAL NOT NULL,
    other_j        REAL NOT NULL,
    plain_j        REAL NOT NULL, -- energy of samples without an intensity
    measured_j     REAL NOT NULL, -- energy of samples with one
    measured_gj    REAL NOT NULL, -- sum of joules x g/kWh of those
    first_start    INTEGER NOT NULL,
    last_end       INTEGER NOT NULL,
    samples        INTEGER NOT NULL,
    estimated      INTEGER NOT NULL -- samples with estimated CPU/GPU energy
) STRICT;
