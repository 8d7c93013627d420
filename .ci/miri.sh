#!/usr/bin/env bash
# Miri over the interpreter's unsafe paths: the tests of crates/ward/tests/miri.rs (calls, locals,
# returns, tail calls, memory growth that moves memory, tables, host calls re-entering Wasm, GC,
# exceptions) under Stacked Borrows and under Tree Borrows, with strict provenance (no
# integer-to-pointer casts), in both of the executor's modes: the loop mode and the threaded mode
# (`ward_tail_calls`, set for optimized builds; Miri runs the sibling calls as ordinary calls).
#
# Fails if Miri reports undefined behaviour, a test fails, or a step (or the whole script, capped at
# MIRI_BUDGET seconds, 30 minutes by default) runs out of time. A test step takes about two minutes on
# a quiet 2-core machine; the caps leave room for a loaded one (a step took over 300 s while other
# builds ran), and still end a run that hangs. Nightly is used for Miri only.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

budget=${MIRI_BUDGET:-1800}
deadline=$((SECONDS + budget))

# step CAP_SECONDS DESCRIPTION COMMAND...: runs COMMAND under `timeout`, capped at CAP_SECONDS and at
# what is left of the budget.
step() {
  local cap=$1 what=$2
  shift 2
  local left=$((deadline - SECONDS))
  if ((left < cap)); then cap=$left; fi
  if ((cap <= 0)); then
    echo "miri.sh: out of time before: $what" >&2
    exit 1
  fi
  echo "== $what (at most ${cap}s)"
  local start=$SECONDS status=0
  timeout --kill-after=10 "$cap" "$@" || status=$?
  if ((status == 124 || status == 137)); then
    echo "miri.sh: timed out after ${cap}s: $what" >&2
    exit 1
  elif ((status != 0)); then
    echo "miri.sh: failed (exit $status): $what" >&2
    exit "$status"
  fi
  echo "== done in $((SECONDS - start))s: $what"
}

step 300 "install nightly with Miri" \
  rustup toolchain install nightly --component miri,rust-src --profile minimal
step 240 "set up Miri's sysroot" cargo +nightly miri setup

flags="-Zmiri-strict-provenance"
step 900 "Stacked Borrows, loop mode" \
  env MIRIFLAGS="$flags" cargo +nightly miri test -p ward-wasm --test miri
step 900 "Tree Borrows, loop mode" \
  env MIRIFLAGS="$flags -Zmiri-tree-borrows" cargo +nightly miri test -p ward-wasm --test miri
# `--release` makes build.rs set `ward_tail_calls`; debug assertions stay on for the executor's
# stale-memory check.
threaded=(--release --config profile.release.debug-assertions=true)
step 900 "Stacked Borrows, threaded mode" \
  env MIRIFLAGS="$flags" cargo +nightly miri test -p ward-wasm "${threaded[@]}" --test miri
step 900 "Tree Borrows, threaded mode" \
  env MIRIFLAGS="$flags -Zmiri-tree-borrows" cargo +nightly miri test -p ward-wasm "${threaded[@]}" --test miri
echo "miri.sh: no undefined behaviour found ($SECONDS s)"
