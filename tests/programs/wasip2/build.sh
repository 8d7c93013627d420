#!/usr/bin/env bash
# Rebuilds the prebuilt WASI 0.2 test components (*.wasm) from src/bin/*.rs.
# Needs the wasm32-wasip2 target: rustup target add wasm32-wasip2
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --target wasm32-wasip2 --target-dir target
for src in src/bin/*.rs; do
    name=$(basename "$src" .rs)
    cp "target/wasm32-wasip2/release/$name.wasm" "$name.wasm"
    echo "built $name.wasm ($(wc -c <"$name.wasm") bytes)"
done
