#!/usr/bin/env python3
"""The table of a scripts/mutants.sh run: per crate and per file, mutants, caught, missed,
timed out, unviable; then every missed and timed-out mutant. Reads the lists cargo-mutants
writes (DIR/<crate>/mutants.out/{caught,missed,timeout,unviable}.txt, one mutant a line:
`path:line:column: what`) and prints Markdown."""

import re
import sys
from collections import Counter
from pathlib import Path

KINDS = ["caught", "missed", "timeout", "unviable"]
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<what>.*)$")


def read(out: Path, kind: str) -> list[re.Match]:
    path = out / f"{kind}.txt"
    if not path.exists():
        return []
    found = []
    for text in path.read_text().splitlines():
        if text.strip():
            m = LINE.match(text)
            if not m:
                sys.exit(f"{path}: not a mutant line: {text!r}")
            found.append(m)
    return found


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/mutants")
    print("| crate | file | mutants | caught | missed | timed out | unviable |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    survivors = []
    for out in sorted(root.glob("*/mutants.out")):
        crate = out.parent.name
        per_file: dict[str, Counter] = {}
        for kind in KINDS:
            for m in read(out, kind):
                per_file.setdefault(m["file"], Counter())[kind] += 1
                if kind in ("missed", "timeout"):
                    survivors.append((crate, kind, m.group(0)))
        total = Counter()
        for file in sorted(per_file):
            c = per_file[file]
            total.update(c)
            print(f"| {crate} | `{file}` | {sum(c.values())} | "
                  + " | ".join(str(c[k]) for k in KINDS) + " |")
        print(f"| **{crate}** | all | **{sum(total.values())}** | "
              + " | ".join(f"**{total[k]}**" for k in KINDS) + " |")
    print()
    if survivors:
        print("Survivors (missed or timed out):")
        print()
        for crate, kind, line in survivors:
            print(f"- {crate} ({kind}): `{line}`")
    else:
        print("No survivors.")


if __name__ == "__main__":
    main()
