#!/bin/sh
# Measures what `ward run --audit` costs: the wall time of a file-heavy run (the fsops test program
# writing, reading and statting N files in a preopened directory: 2N file opens, each one an audit
# record) without and with an audit log, and of a run that makes no capability decisions at all
# (the determinism program's compute loop) with the log on. Each case runs RUNS times, alternating;
# the script prints the median and minimum wall time of each and the median CPU time (user + system,
# which a loaded shared machine disturbs less than wall time).
#
#   benches/audit.sh [N files, default 2000] [RUNS, default 15]
#   WARD_BASELINE=/path/to/other/ward benches/audit.sh   # also time another build (e.g. main's)
#                                                         # without --audit, for the cost of the hooks
#
# Uses the release binary in $CARGO_TARGET_DIR (built if missing).
set -eu
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
cargo build --release -q -p ward-wasm-cli
python3 - "$CARGO_TARGET_DIR/release/ward" "${1:-2000}" "${2:-15}" "${WARD_BASELINE:-}" <<'PY'
import os, statistics, subprocess, sys, tempfile, time

ward, files, runs, baseline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# In memory where there is a tmpfs, so that disk contention does not swamp the comparison.
work = tempfile.mkdtemp(prefix="ward-audit-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
args = []
for i in range(files):
    args += ["write", f"/d/f{i}", "x", "read", f"/d/f{i}", "stat", f"/d/f{i}"]

def case(audit, program, extra, binary=ward):
    cmd = [binary, "run", "--dir", f"{work}::/d"]
    if audit:
        cmd += ["--audit", os.path.join(work, f"{program}.jsonl")]
    return cmd + [f"tests/programs/{program}.wasm"] + extra

cases = {
    "fsops, no audit": case(False, "fsops", args),
    "fsops, --audit": case(True, "fsops", args),
    "compute, no audit": case(False, "determinism", ["/d"]),
    "compute, --audit": case(True, "determinism", ["/d"]),
}
if baseline:
    cases["fsops, baseline"] = case(False, "fsops", args, baseline)
    cases["compute, baseline"] = case(False, "determinism", ["/d"], baseline)
times = {name: [] for name in cases}
cpu = {name: [] for name in cases}
for _ in range(runs):
    for name, cmd in cases.items():
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        times[name].append(time.perf_counter() - start)
        cpu[name].append(usage.ru_utime + usage.ru_stime)
        assert os.waitstatus_to_exitcode(status) == 0, cmd
records = sum(1 for _ in open(os.path.join(work, "fsops.jsonl")))
print(f"{files} files ({2 * files} opens), {runs} runs each; fsops audit log: {records} records")
for name, samples in times.items():
    print(
        f"  {name:<18} wall median {statistics.median(samples) * 1e3:8.2f} ms, min "
        f"{min(samples) * 1e3:8.2f} ms; CPU median {statistics.median(cpu[name]) * 1e3:8.2f} ms"
    )
PY
