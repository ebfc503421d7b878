#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# compare_windows: checks nvml_check's energy windows (JSON lines) against
# gpu_reference.py's power samples. For each window it integrates the
# sampled power (trapezoid rule) over the window's [start_ms, end_ms] and
# prints both figures; over the whole span covered by both it requires
# agreement within TOTAL_TOLERANCE, and it requires that the windows under
# load read clearly more than the idle ones (the counter moves with load).
# Prints "device-nvml: N passed, M failed" like the other suites.
import json
import sys

TOTAL_TOLERANCE = 0.05


def integrate(samples, a, b):
    pts = [(t, p) for t, p in samples if a <= t <= b]
    if len(pts) < 2:
        return None
    # extend to the window's edges with the nearest sample's power
    pts = [(a, pts[0][1])] + pts + [(b, pts[-1][1])]
    return sum((t2 - t1) / 1000.0 * (p1 + p2) / 2 for (t1, p1), (t2, p2) in zip(pts, pts[1:]))


def main():
    windows_path, power_path = sys.argv[1], sys.argv[2]
    lines = [json.loads(l) for l in open(windows_path) if l.strip()]
    facts, windows = lines[0], lines[1:]
    header = open(power_path).readline()
    meta = dict(kv.split("=") for kv in header[2:].split())
    samples = [tuple(map(float, l.split(","))) for l in open(power_path) if not l.startswith("#")]
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + what)
        if ok:
            passed += 1
        else:
            failed += 1

    check(facts["gpus"] >= 1 and facts["gpu_model"] != "", "host facts name the GPU: %s x%d" % (facts["gpu_model"], facts["gpus"]))
    check(all(w["gpu_method"] == "nvml-energy" for w in windows), "every window uses the energy counter (nvml-energy)")
    lo, hi = samples[0][0], samples[-1][0]
    covered = [w for w in windows if w["start_ms"] >= lo and w["end_ms"] <= hi]
    ls, le = float(meta["load_start_ms"]), float(meta["load_end_ms"])
    print("window start..end (s from first)  probe J  power-integral J  ratio  avg W  under-load")
    tot_probe = tot_ref = 0.0
    loaded, idle = [], []
    for w in covered:
        ref = integrate(samples, w["start_ms"], w["end_ms"])
        if ref is None:
            continue
        dur = (w["end_ms"] - w["start_ms"]) / 1000.0
        under = w["start_ms"] >= ls and w["end_ms"] <= le
        quiet = w["end_ms"] <= ls or w["start_ms"] >= le + 2000
        (loaded if under else idle if quiet else []).append(w["gpu_j"] / dur)
        tot_probe += w["gpu_j"]
        tot_ref += ref
        print("%7.1f..%7.1f  %10.1f  %12.1f  %6.3f  %6.1f  %s" % ((w["start_ms"] - lo) / 1000, (w["end_ms"] - lo) / 1000,
              w["gpu_j"], ref, w["gpu_j"] / ref if ref else 0, w["gpu_j"] / dur, "yes" if under else ""))
    check(len(covered) >= 4, "%d windows inside the sampled span" % len(covered))
    if tot_ref > 0:
        r = tot_probe / tot_ref
        check(abs(r - 1) <= TOTAL_TOLERANCE, "sum of windows %.1f J vs power integral %.1f J: ratio %.4f (tolerance %.0f%%)"
              % (tot_probe, tot_ref, r, TOTAL_TOLERANCE * 100))
    if loaded and idle:
        check(min(loaded) > 1.5 * max(idle), "loaded windows average %.0f W, idle ones %.0f W"
              % (sum(loaded) / len(loaded), sum(idle) / len(idle)))
    takes = [w["take_cpu_ms"] for w in windows]
    print("counter read (take) CPU time per window: median %.2f ms, max %.2f ms" % (sorted(takes)[len(takes) // 2], max(takes)))
    print("device-nvml: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
