#!/usr/bin/env python3
"""Runs fsops.wasm with the same commands under ward and under Wasmtime and prints the lines that differ.

A manual check of "behaves the same as Wasmtime" (not part of `cargo test`: it needs the `wasmtime`
Python package, e.g. `python3 -m venv /tmp/wt && /tmp/wt/bin/pip install wasmtime`).

    /tmp/wt/bin/python tests/programs/compare_wasmtime.py PATH/TO/ward write /box/a.txt hi read /box/a.txt ...

Both runtimes get the same fresh tree: /box (read-write, with inside.txt, d/ and host_link -> ../secret.txt)
and /ro (read-only, with data.txt and sub/); secret.txt lies outside both.
"""
import os
import subprocess
import sys
import tempfile

from wasmtime import Engine, ExitTrap, Linker, Module, Store, WasiConfig

FSOPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fsops.wasm")


def fresh_tree():
    root = tempfile.mkdtemp()
    with open(f"{root}/secret.txt", "w") as f:
        f.write("top secret")
    os.mkdir(f"{root}/box")
    with open(f"{root}/box/inside.txt", "w") as f:
        f.write("inside")
    os.mkdir(f"{root}/box/d")
    os.symlink("../secret.txt", f"{root}/box/host_link")
    os.mkdir(f"{root}/ro")
    with open(f"{root}/ro/data.txt", "w") as f:
        f.write("read-only data")
    os.mkdir(f"{root}/ro/sub")
    return root


def run_wasmtime(args):
    root = fresh_tree()
    engine = Engine()
    store = Store(engine)
    config = WasiConfig()
    config.argv = ["fsops"] + args
    config.stdout_file = f"{root}/stdout.txt"
    config.preopen_dir(f"{root}/box", "/box")
    config.preopen_dir(f"{root}/ro", "/ro", False)
    store.set_wasi(config)
    linker = Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, Module.from_file(engine, FSOPS))
    try:
        instance.exports(store)["_start"](store)
        code = 0
    except ExitTrap as e:
        code = e.code
    with open(f"{root}/stdout.txt") as f:
        return f.read(), code


def run_ward(ward, args):
    root = fresh_tree()
    cmd = [ward, "run", "--dir", f"{root}/box::/box", "--dir-ro", f"{root}/ro::/ro", FSOPS] + args
    done = subprocess.run(cmd, capture_output=True, text=True)
    return done.stdout, done.returncode


def main():
    ward, args = sys.argv[1], sys.argv[2:]
    (theirs, their_code), (ours, our_code) = run_wasmtime(args), run_ward(ward, args)
    for a, b in zip(theirs.splitlines(), ours.splitlines()):
        print(("same  " if a == b else "DIFF  ") + f"wasmtime: {a!r:48} ward: {b!r}")
    print(f"exit codes: wasmtime {their_code}, ward {our_code}")


if __name__ == "__main__":
    main()
