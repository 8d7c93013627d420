#!/usr/bin/env bash
# Rebuilds the prebuilt test programs (*.wasm) from their C sources, and wraps each into a WASI
# 0.2 component (*.component.wasm) with the preview1 adapter (tools/wrap-component).
# Needs clang with the wasm32 target, lld and wasi-libc, e.g. on Debian:
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
# and cargo for the wrapping tool.
set -euo pipefail
cd "$(dirname "$0")"
CC=${CC:-clang}
for src in *.c; do
    out="${src%.c}.wasm"
    "$CC" --target=wasm32-wasi -O2 -s -Wall -Werror -o "$out" "$src"
    echo "built $out ($(wc -c <"$out") bytes)"
done
WRAP_TARGET=${WRAP_TARGET:-../../tools/wrap-component/target}
cargo build --release --quiet --manifest-path ../../tools/wrap-component/Cargo.toml \
    --target-dir "$WRAP_TARGET"
for src in *.c; do
    module="${src%.c}.wasm"
    component="${src%.c}.component.wasm"
    "$WRAP_TARGET/release/ward-wrap-component" "$module" "$component"
    echo "wrapped $component ($(wc -c <"$component") bytes)"
done
