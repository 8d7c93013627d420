#!/bin/sh
# Runs the benchmark suite (ward, wasmi, Wasmtime/Cranelift, Wasmtime/Pulley) and prints one table:
# per workload the median time per engine, the ratios ward/wasmi and ward/wasmtime (below 1 means ward
# is faster) and geometric means. Extra arguments go to criterion (e.g. a filter such as `kernel/`).
#
#   benches/compare.sh            # whole suite
#   benches/compare.sh kernel/fib # one workload
set -eu
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
cargo bench --bench engines -- "$@" >&2
python3 - "$CARGO_TARGET_DIR/criterion" <<'PY'
import json, math, os, sys

root = sys.argv[1]
engines = ["ward", "wasmi", "wasmtime", "pulley"]

def median(group, engine):
    path = os.path.join(root, group, engine, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except FileNotFoundError:
        return None

def fmt(ns):
    if ns is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"

# Criterion stores group `kernel/fib` in the directory `kernel_fib`.
groups = []
present = sorted(os.listdir(root)) if os.path.isdir(root) else []
for top in ("kernel", "compile", "instantiate", "hostcall", "component"):
    for name in present:
        if name == top or name.startswith(top + "_"):
            groups.append((name.replace("_", "/", 1), name))

header = f"| {'workload':<22} |" + "".join(f" {e:>10} |" for e in engines) + " ward/wasmi | ward/wasmtime |"
print(header)
print("|" + "-" * 24 + "|" + "------------|" * len(engines) + "------------|---------------|")
logs = {}
for label, group in groups:
    t = {e: median(group, e) for e in engines}
    if t["ward"] is None:
        continue
    r1 = t["ward"] / t["wasmi"] if t["wasmi"] else None
    r2 = t["ward"] / t["wasmtime"] if t["wasmtime"] else None
    kind = label.split("/")[0]
    if r1 is not None or r2 is not None:
        logs.setdefault(kind, []).append((math.log(r1) if r1 else None, math.log(r2) if r2 else None))
    ratio = lambda r, width: f" {r:>{width}.2f} |" if r is not None else f" {'-':>{width}} |"
    print(f"| {label:<22} |" + "".join(f" {fmt(t[e]):>10} |" for e in engines)
          + ratio(r1, 10) + ratio(r2, 13))
print()
for kind, values in logs.items():
    r1 = [v[0] for v in values if v[0] is not None]
    g1 = math.exp(sum(r1) / len(r1)) if r1 else float("nan")
    r2 = [v[1] for v in values if v[1] is not None]
    g2 = math.exp(sum(r2) / len(r2)) if r2 else float("nan")
    print(f"geomean {kind:<12} ({len(values):>2} workloads): ward/wasmi {g1:.2f}  ward/wasmtime {g2:.2f}"
          + (f"  (ward is {1 / g1:.2f}x wasmi's speed)" if kind == "kernel" else ""))
PY
