#!/usr/bin/env python3
"""The module import graph of a crate's `src/`: which file uses which.

An edge `a -> b` means file `a` names an item of file `b` through a path (`use crate::x::y`,
`super::z`, a child module's `use child::Item`, an inline `crate::x::y::f()`); `mod` declarations
are not edges. Re-exports at the crate
root (`pub use x::Y` in lib.rs) resolve to the file that defines them.

Prints the edge count, the strongly connected components with more than one file (import cycles),
and the largest. With `--max-cycle N` it exits 1 if a cycle spans more than N files.

    python3 tools/import_graph.py crates/ward/src [--max-cycle 3] [--edges]
"""
import os
import re
import sys


def module_files(src):
    """Module path (tuple) -> file, for every .rs file under src."""
    files = {}
    for dirpath, _, names in os.walk(src):
        for name in names:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            files[tuple(rel)] = path
    return files


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def expand_use_tree(prefix, tree):
    """Paths named by a `use` tree such as `a::{b, c::{d, e}}`."""
    tree = tree.strip()
    m = re.match(r"^([\w:]*?)(?:::)?\{(.*)\}$", tree, flags=re.S)
    if not m:
        return [prefix + [p for p in tree.split(" as ")[0].split("::") if p]]
    head = [p for p in m.group(1).split("::") if p]
    body, depth, part, out = m.group(2), 0, "", []
    for ch in body + ",":
        if ch == "," and depth == 0:
            if part.strip():
                out += expand_use_tree(prefix + head, part)
            part = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        part += ch
    return out


def resolve(files, reexports, module, path):
    """The file a path (list of segments) written in `module` points into, if inside the crate."""
    if not path:
        return None
    if path[0] == "crate":
        parts = path[1:]
    elif path[0] == "super":
        base = list(module)
        while path and path[0] == "super":
            base = base[:-1]
            path = path[1:]
        parts = base + path
    elif path[0] == "self":
        parts = list(module) + path[1:]
    elif tuple(module) + (path[0],) in files:
        # A relative path into a child module (`use lazy::FuncCode;` in module/mod.rs).
        parts = list(module) + path
    else:
        return None
    if parts and tuple(parts[:1]) not in files and parts[0] in reexports:
        parts = list(reexports[parts[0]]) + parts[1:]
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in files:
            return files[tuple(parts[:n])]
    return None


def graph(src):
    files = module_files(src)
    lib = strip_comments(open(os.path.join(src, "lib.rs")).read())
    reexports = {}
    for m in re.finditer(r"pub use\s+([^;]+);", lib):
        for path in expand_use_tree([], m.group(1)):
            if path and path[0] != "crate" and (path[0],) in files:
                reexports[path[-1]] = tuple(path[:-1])
    edges = set()
    for module, path in files.items():
        text = strip_comments(open(path).read())
        named = []
        for m in re.finditer(r"\buse\s+([^;]+);", text):
            scope = inline_module_at(text, m.start())
            named += [(scope, p) for p in expand_use_tree([], m.group(1))]
        for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
            named.append((inline_module_at(text, m.start()), m.group(1).split("::")))
        for scope, p in named:
            target = resolve(files, reexports, tuple(module) + scope, p)
            # A path into an inline module of this file (`super::` in `mod tests { … }`) resolves
            # to this file.
            if target is None and scope and p and p[0] == "super":
                continue
            if target and target != path:
                edges.add((path, target))
    return sorted(files.values()), edges


def inline_module_at(text, offset):
    """The inline modules (`mod tests { … }`) enclosing `offset`, outermost first, so that
    `super::` inside one names the file's own module."""
    stack, depth = [], 0
    for m in re.finditer(r"\bmod\s+(\w+)\s*\{|\{|\}", text[:offset]):
        if m.group(1):
            depth += 1
            stack.append((m.group(1), depth))
        elif m.group(0) == "{":
            depth += 1
        else:
            if stack and stack[-1][1] == depth:
                stack.pop()
            depth -= 1
    return tuple(name for name, _ in stack)


def components(nodes, edges):
    """Tarjan's strongly connected components."""
    succ = {n: [] for n in nodes}
    for a, b in edges:
        succ[a].append(b)
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for n in nodes:
        if n not in index:
            visit(n)
    return out


def main():
    args = sys.argv[1:]
    src = args[0] if args and not args[0].startswith("-") else "crates/ward/src"
    max_cycle = None
    if "--max-cycle" in args:
        max_cycle = int(args[args.index("--max-cycle") + 1])
    nodes, edges = graph(src)
    cycles = sorted((c for c in components(nodes, edges) if len(c) > 1), key=len, reverse=True)
    rel = lambda p: os.path.relpath(p, src)
    print(f"{len(nodes)} files, {len(edges)} edges, {len(cycles)} cycles")
    if "--edges" in args:
        for a, b in sorted(edges):
            print(f"  {rel(a)} -> {rel(b)}")
    for c in cycles:
        print(f"cycle of {len(c)} files: {', '.join(rel(p) for p in c)}")
    largest = len(cycles[0]) if cycles else 1
    print(f"largest cycle: {largest} files")
    if max_cycle is not None and largest > max_cycle:
        sys.exit(1)


if __name__ == "__main__":
    main()
