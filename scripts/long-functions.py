#!/usr/bin/env python3
"""Lists Rust functions longer than a limit (default 80 lines) in the given folders.

Tables are left out: the property and signal declarations of the elements (`fn properties()`,
`fn signals()`) and the error-code table's sentences (`fn meaning`, one match arm per code, which
the compiler checks for every code). Exit status 1 when any other function is too long."""
import re
import sys
from pathlib import Path

LIMIT = 80
EXEMPT = {"properties", "signals", "meaning"}
FN = re.compile(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?(?:async\s+)?(?:unsafe\s+)?(?:const\s+)?fn\s+([a-z_0-9]+)")


def functions(path):
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        match = FN.match(lines[i])
        if not match:
            i += 1
            continue
        depth, started, j = 0, False, i
        while j < len(lines):
            code = re.sub(r'"(?:\\.|[^"\\])*"|//.*', "", lines[j])
            depth += code.count("{") - code.count("}")
            started = started or "{" in code
            if (started and depth <= 0) or (not started and code.rstrip().endswith(";")):
                break
            j += 1
        yield match.group(1), i + 1, j - i + 1
        i += 1


def main():
    roots = sys.argv[1:] or ["src", "elements/src"]
    long = []
    for root in roots:
        for path in sorted(Path(root).rglob("*.rs")):
            for name, line, length in functions(path):
                if length > LIMIT and name not in EXEMPT:
                    long.append(f"{path}:{line}: fn {name} is {length} lines")
    print("\n".join(long))
    sys.exit(1 if long else 0)


if __name__ == "__main__":
    main()
