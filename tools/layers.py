#!/usr/bin/env python3
"""Checks that crdt-model's top-level modules depend on each other without cycles.

Reads every `crate::MODULE` path in crdt-model/src (code and doc links alike), builds the graph of
top-level modules, and prints each cycle (strongly connected component of more than one module).
Exits 1 when there is one. Usage: `python3 tools/layers.py [--graph]`.
"""
import collections
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crdt-model", "src")


def module_of(path):
    parts = os.path.relpath(path, ROOT).split(os.sep)
    return parts[0][:-3] if len(parts) == 1 else parts[0]


def graph():
    edges = collections.defaultdict(set)
    for directory, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(directory, name)
            module = module_of(path)
            if module == "lib":
                continue
            edges.setdefault(module, set())
            with open(path, encoding="utf-8") as f:
                for target in re.findall(r"crate::([a-z_]+)", f.read()):
                    if target != module:
                        edges[module].add(target)
    return edges


def cycles(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    edges = graph()
    if "--graph" in sys.argv:
        for module in sorted(edges):
            print(f"{module} -> {', '.join(sorted(edges[module])) or '-'}")
    found = cycles(edges)
    for component in found:
        print("cycle among:", " ".join(component))
    if not found:
        print("no cycles among crdt-model's modules")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
