#!/bin/sh
# Rebuilds the benchmark modules in benches/wasm from the C sources in benches/kernels.
# Needs: apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
set -eu
cd "$(dirname "$0")"
mkdir -p wasm
cd kernels && python3 gen_large.py && cd ..
CFLAGS="--target=wasm32-wasi -O2 -nostdlib -mbulk-memory -Wl,--no-entry -Wl,--strip-all"
for src in fib sieve matmul sha256 nbody quicksort hashmap lz memops hostcall large; do
    extra=""
    [ "$src" = hostcall ] && extra="-Wl,--allow-undefined"
    [ "$src" = large ] && extra="-Wl,--export-all"
    clang $CFLAGS $extra -o "wasm/$src.wasm" "kernels/$src.c"
done
clang $CFLAGS -msimd128 -o wasm/simd.wasm kernels/simd.c
ls -l wasm
