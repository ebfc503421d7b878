#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# gpu_reference: the independent side of tests/device/run_nvml_check.sh.
# While nvml_check (libgreentrack's probes) takes energy windows, this
# process puts a known load on GPU 0 (idle, then bf16 matrix products,
# then idle) and samples the board's power through NVML's Python binding
# at 20 Hz, writing "unix_ms,power_w" lines. It also records the
# total-energy counter at start and end. Needs torch and pynvml (the
# device image has both).
import sys
import threading
import time

import pynvml
import torch


def main():
    out_path, idle_s, load_s, tail_s = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    pynvml.nvmlInit()
    dev = pynvml.nvmlDeviceGetHandleByIndex(0)
    samples = []
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            samples.append((time.time() * 1000.0, pynvml.nvmlDeviceGetPowerUsage(dev) / 1000.0))
            time.sleep(0.05)

    e0 = pynvml.nvmlDeviceGetTotalEnergyConsumption(dev)
    t0 = time.time() * 1000.0
    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    time.sleep(idle_s)
    load_start = time.time() * 1000.0
    end = time.time() + load_s
    products = 0
    while time.time() < end:
        for _ in range(20):
            c = a @ b
        torch.cuda.synchronize()
        products += 20
    load_end = time.time() * 1000.0
    del c
    time.sleep(tail_s)
    stop.set()
    th.join()
    e1 = pynvml.nvmlDeviceGetTotalEnergyConsumption(dev)
    t1 = time.time() * 1000.0
    with open(out_path, "w") as f:
        f.write("# counter_mj_start=%d counter_mj_end=%d t0_ms=%.0f t1_ms=%.0f load_start_ms=%.0f load_end_ms=%.0f products=%d\n"
                % (e0, e1, t0, t1, load_start, load_end, products))
        for t, p in samples:
            f.write("%.1f,%.3f\n" % (t, p))
    tflops = products * 2 * 8192 ** 3 / ((load_end - load_start) / 1000.0) / 1e12
    print("reference: %d samples, %.1f J by the counter over %.1f s, load %.0f TFLOP/s"
          % (len(samples), (e1 - e0) / 1000.0, (t1 - t0) / 1000.0, tflops))


if __name__ == "__main__":
    main()
