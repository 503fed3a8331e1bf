#!/usr/bin/env python3
"""The module graph of each crate of the workspace, checked (run by `make test`).

A crate's modules are its top-level files and directories under src/. The check fails when
- two modules of one crate import each other, directly or round a longer circle;
- a module of one element (elements/src/lv*) imports another element's module: elements share
  only the plugin's common modules and liveness-core;
- the server (src/) or the tools name an element's module (`lvchallenge::` ...): they build
  pipelines by factory name and use liveness-core and the plugin's common modules.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = {"core": ROOT / "core/src", "elements": ROOT / "elements/src", "lpserver": ROOT / "src", "tools": ROOT / "tools/src", "zkmatch": ROOT / "zkmatch/src"}
ELEMENT_PATH = re.compile(r"\b(lvchallenge|lvjwtsink|lvvideoglue|lvsurfaceanalysis|lvlandmarks|lvfacedetect|lvantispoof)::")


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def unit_of(src, path):
    rel = path.relative_to(src)
    return rel.parts[0].removesuffix(".rs")


def graph(src):
    edges = {}
    for path in src.rglob("*.rs"):
        if path.parts[-2:] == ("bin",) or "bin" in path.relative_to(src).parts:
            continue
        unit = unit_of(src, path)
        if unit in ("lib", "main"):
            continue
        text = strip_comments(path.read_text())
        # `mod tests` blocks count too: a test that reaches into a sibling is an edge as well.
        for target in re.findall(r"\bcrate::(\w+)", text):
            if target != unit:
                edges.setdefault(unit, set()).add(target)
        depth = len(path.relative_to(src).parts) - 1
        if depth >= 1:
            supers = r"\bsuper::" * (depth + (0 if path.name == "mod.rs" else 1))
            for target in re.findall(supers + r"(\w+)", text):
                if target != unit:
                    edges.setdefault(unit, set()).add(target)
    return edges


def circles(edges):
    found, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def main():
    problems = []
    for crate, src in CRATES.items():
        if not src.exists():
            continue
        edges = graph(src)
        for circle in circles(edges):
            problems.append(f"{crate}: modules import each other: {' -> '.join(circle)}")
        if crate == "elements":
            for unit, targets in sorted(edges.items()):
                for target in sorted(targets):
                    if unit.startswith("lv") and target.startswith("lv"):
                        problems.append(f"elements: {unit} imports the element module {target}")
        if crate in ("lpserver", "tools"):
            paths = list(src.rglob("*.rs"))
            if crate == "lpserver":
                paths = [p for p in paths if "bin" not in p.relative_to(src).parts]
            for path in paths:
                for n, line in enumerate(strip_comments(path.read_text()).splitlines(), 1):
                    if ELEMENT_PATH.search(line):
                        problems.append(f"{path.relative_to(ROOT)}:{n}: names an element's module: {line.strip()}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("module graph: no circles, no element imports another, the server names no element module")


if __name__ == "__main__":
    main()
