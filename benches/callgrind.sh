#!/bin/sh
# Prints callgrind's instruction count (total Ir, whole process: start-up, compile, instantiate and
# the call) of the `ward` command running each benchmark kernel once:
#
#   ward run --invoke run benches/wasm/<kernel>.wasm <arg>
#
# with the arguments of the criterion benchmark (`KERNELS` in src/lib.rs). The counts do not depend
# on machine load, so they compare two builds of ward on a shared machine.
#
#   benches/callgrind.sh PATH/TO/ward [KERNEL...]     # default: every kernel
#
# Output: one markdown table row per kernel, `| kernel | arg | Ir |`. `hostcall` is not run: it
# imports a host function (`host.add`) the command does not provide.
#
# Two real programs can be named too (not in the default list; each takes about a minute under
# callgrind): `coremark` (`ward run programs/coremark/coremark.wasm 0 0 0x66 100`, 100 iterations)
# and `sqlite` (`ward run programs/sqlite/sqlite.wasm 1`, after programs/sqlite/build.sh). They run
# through ward-wasi, and CoreMark reads the clock and prints times, so their counts move by a few
# hundred instructions between runs (coremark: 374,541,940 and 374,542,239).
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 PATH/TO/ward [KERNEL...]" >&2
    exit 2
fi
ward=$1
shift
dir=$(cd "$(dirname "$0")" && pwd)
[ -x "$ward" ] || { echo "$ward is not an executable" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

arg_of() {
    case $1 in
        fib) echo 25 ;;
        sieve) echo 400000 ;;
        matmul) echo 48 ;;
        sha256) echo 32768 ;;
        nbody) echo 5000 ;;
        quicksort) echo 20000 ;;
        hashmap) echo 20000 ;;
        lz) echo 32768 ;;
        memops) echo 20 ;;
        simd) echo 40 ;;
        coremark) echo "0 0 0x66 100" ;;
        sqlite) echo 1 ;;
        *) echo "unknown kernel $1" >&2; exit 2 ;;
    esac
}

[ $# -gt 0 ] || set -- fib sieve matmul sha256 nbody quicksort hashmap lz memops simd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| kernel | arg | Ir |"
echo "|---|---:|---:|"
for k in "$@"; do
    arg=$(arg_of "$k")
    case $k in
        coremark | sqlite) cmd="run $dir/programs/$k/$k.wasm $arg" ;;
        *) cmd="run --invoke run $dir/wasm/$k.wasm $arg" ;;
    esac
    # shellcheck disable=SC2086 # $cmd is split into words on purpose (no spaces in the paths used)
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" \
        "$ward" $cmd >"$tmp/stdout" 2>"$tmp/stderr" || {
        echo "$k: ward or valgrind failed:" >&2
        cat "$tmp/stderr" >&2
        exit 1
    }
    ir=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\).*/\1/p' "$tmp/stderr")
    echo "| $k | $arg | $ir |"
done
