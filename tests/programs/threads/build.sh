#!/usr/bin/env bash
# Rebuilds the prebuilt wasi-threads test programs (*.wasm) from src/bin/*.rs.
# Needs the wasm32-wasip1-threads target: rustup target add wasm32-wasip1-threads
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --target wasm32-wasip1-threads --target-dir target
for src in src/bin/*.rs; do
    name=$(basename "$src" .rs)
    cp "target/wasm32-wasip1-threads/release/$name.wasm" "$name.wasm"
    echo "built $name.wasm ($(wc -c <"$name.wasm") bytes)"
done
