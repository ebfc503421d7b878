#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run_nvml_check.sh BIN_DIR OUT_DIR: libgreentrack's GPU energy probe on a
# real NVIDIA GPU (not CI: CI has none and uses tests/fakes/fake_nvml.c).
# BIN_DIR holds nvml_check (build/release/tests after make test-bins; it
# needs only libc). Needs python3 with torch and pynvml. Checks:
#   1. windows of the energy counter agree with NVML power sampled at 20 Hz
#      and integrated (compare_windows.py), and follow a known load;
#   2. CUDA_VISIBLE_DEVICES="" measures no GPU ("none", 0 J);
#   3. CUDA_VISIBLE_DEVICES=<the GPU's UUID> measures that one GPU;
#      an index that does not exist measures none.
set -u
bin=$1/nvml_check
out=$2
here=$(dirname "$0")
mkdir -p "$out"
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

nvidia-smi --query-gpu=name,uuid,driver_version,power.limit --format=csv,noheader | tee "$out/gpu.txt"
uuid=$(nvidia-smi --query-gpu=uuid --format=csv,noheader | head -1)

"$bin" 55 5 >"$out/windows.jsonl" 2>"$out/probe.log" &
probe=$!
sleep 1
python3 "$here/gpu_reference.py" "$out/power.csv" 10 20 12 || bad "gpu_reference.py ran"
wait $probe || bad "nvml_check exited 0"
python3 "$here/compare_windows.py" "$out/windows.jsonl" "$out/power.csv" | tee "$out/compare.txt"
p=$(sed -n 's/^device-nvml: \([0-9]*\) passed, \([0-9]*\) failed/\1 \2/p' "$out/compare.txt")
pass=$((pass + ${p% *})); fail=$((fail + ${p#* }))

line=$(CUDA_VISIBLE_DEVICES= "$bin" 2 2 2>/dev/null | tail -1)
case $line in *'"gpu_j": 0.000, "gpu_method": "none"'*) ok "CUDA_VISIBLE_DEVICES=\"\": no GPU measured" ;;
    *) bad "CUDA_VISIBLE_DEVICES=\"\": got $line" ;; esac
first=$(CUDA_VISIBLE_DEVICES=$uuid "$bin" 2 2 2>/dev/null | head -1)
case $first in *'"gpus": 1,'*) ok "CUDA_VISIBLE_DEVICES=<uuid>: one GPU" ;;
    *) bad "CUDA_VISIBLE_DEVICES=<uuid>: got $first" ;; esac
first=$(CUDA_VISIBLE_DEVICES=7 "$bin" 2 2 2>/dev/null | head -1)
case $first in *'"gpus": 0,'*) ok "CUDA_VISIBLE_DEVICES=7 (absent): no GPU" ;;
    *) bad "CUDA_VISIBLE_DEVICES=7: got $first" ;; esac
grep -c '^sample' "$out/probe.log" >/dev/null &&
    awk '/^sample/ {split($2, a, "="); s += a[2]; n++} END {if (n) printf "power-sample CPU time: mean %.3f ms over %d samples\n", s / n, n}' "$out/probe.log"
echo "device-nvml-all: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
