#!/bin/sh
# Builds sqlite.wasm (not committed: about 1 MB) from the SQLite amalgamation and driver.c.
#
# The amalgamation (sqlite3.c and sqlite3.h, SQLite 3.53.2, public domain) is taken from the npm
# package better-sqlite3 12.11.1, which bundles it, fetched with `npm pack`. Needs npm, and Debian's
# clang, lld and wasi-libc (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32).
#
#   benches/programs/sqlite/build.sh     # writes benches/programs/sqlite/sqlite.wasm
set -eu
cd "$(dirname "$0")"
out=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent better-sqlite3@12.11.1 >/dev/null && tar xzf better-sqlite3-12.11.1.tgz \
    package/deps/sqlite3/sqlite3.c package/deps/sqlite3/sqlite3.h)
clang --target=wasm32-wasi --sysroot=/usr -O2 \
    -DSQLITE_OS_OTHER=1 -DSQLITE_THREADSAFE=0 -DSQLITE_TEMP_STORE=3 -DSQLITE_OMIT_LOAD_EXTENSION \
    -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_OMIT_DEPRECATED -DSQLITE_DQS=0 \
    -I"$tmp/package/deps/sqlite3" \
    -Wl,-z,stack-size=1048576 \
    -o "$out/sqlite.wasm" \
    "$tmp/package/deps/sqlite3/sqlite3.c" driver.c
ls -l "$out/sqlite.wasm"
