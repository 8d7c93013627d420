#!/bin/sh
# Builds coremark.wasm (committed) from the vendored CoreMark sources and the wasm32-wasi port
# (core_portme.[ch]). Needs Debian's clang, lld and wasi-libc:
#   apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
# Run: coremark.wasm 0 0 0x66 ITERATIONS   (CoreMark's 6k performance run; the CRCs are checked)
set -eu
cd "$(dirname "$0")"
clang --target=wasm32-wasi --sysroot=/usr -O2 \
    -DCOMPILER_FLAGS='"-O2 --target=wasm32-wasi"' \
    -Wl,-z,stack-size=65536 \
    -o coremark.wasm \
    core_list_join.c core_main.c core_matrix.c core_state.c core_util.c core_portme.c
ls -l coremark.wasm
