#!/usr/bin/env bash
# Rebuilds the prebuilt test programs (*.wasm) from their C sources.
# Needs clang with the wasm32 target, lld and wasi-libc, e.g. on Debian:
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
set -euo pipefail
cd "$(dirname "$0")"
CC=${CC:-clang}
for src in *.c; do
    out="${src%.c}.wasm"
    "$CC" --target=wasm32-wasi -O2 -s -Wall -Werror -o "$out" "$src"
    echo "built $out ($(wc -c <"$out") bytes)"
done
