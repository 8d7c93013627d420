#!/usr/bin/env bash
# Rebuilds the prebuilt wasi-threads test programs (*.wasm): the Rust ones from src/bin/*.rs and the
# C ones from c/*.c.
# Needs the wasm32-wasip1-threads target (rustup target add wasm32-wasip1-threads) and, for C, clang
# with wasi-libc's headers (apt-get install clang wasi-libc libclang-rt-14-dev-wasm32). Debian's
# wasi-libc is built without threads, so the C programs are compiled with its headers (plus
# c/pthreads.h) and linked by rust-lld against the threads build of wasi-libc that ships with
# Rust's wasm32-wasip1-threads target.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --target wasm32-wasip1-threads --target-dir target
for src in src/bin/*.rs; do
    name=$(basename "$src" .rs)
    cp "target/wasm32-wasip1-threads/release/$name.wasm" "$name.wasm"
    echo "built $name.wasm ($(wc -c <"$name.wasm") bytes)"
done

sysroot=$(rustc --print sysroot)
self_contained="$sysroot/lib/rustlib/wasm32-wasip1-threads/lib/self-contained"
lld="$sysroot/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/rust-lld"
builtins=$(clang --target=wasm32-wasi -print-libgcc-file-name)
for src in c/*.c; do
    name=$(basename "$src" .c)
    clang --target=wasm32-wasi -O2 -Wall -Werror -matomics -mbulk-memory -c "$src" -o "target/$name.o"
    "$lld" -flavor wasm --shared-memory --import-memory --export-memory --max-memory=67108864 \
        --export=wasi_thread_start --strip-all -o "$name.wasm" \
        "$self_contained/crt1-command.o" "target/$name.o" "$self_contained/libc.a" "$builtins"
    echo "built $name.wasm ($(wc -c <"$name.wasm") bytes)"
done
