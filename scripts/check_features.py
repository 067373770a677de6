#!/usr/bin/env python3
"""Fails when the function crates resolve a library they share to different feature sets.

sam build runs one cargo invocation per function crate; a library whose features differ between
two crates (and everything that depends on it) is compiled once per feature set. The
workspace-hack crate lists the union; this check finds a difference it misses, e.g. after a
dependency upgrade, by comparing what `cargo tree` resolves for each crate's release target
(proc-macro dependencies, built for the host, left out). The core itself (rotation-core, with or
without its database layer) is allowed to differ.
"""
import collections
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = tomllib.loads((ROOT / "packaging" / "rotation-types.toml").read_text())["type"]
# Every function crate the rotation types are built from.
CRATES = list(dict.fromkeys(t["crate"] for t in TYPES))
ALLOWED = {"rotation-core"}


def features(crate):
    out = subprocess.run(
        ["cargo", "tree", "--locked", "-p", crate, "-e", "normal,no-proc-macro", "--prefix", "none",
         "--target", "x86_64-unknown-linux-gnu", "-f", "{p} [{f}]"],
        check=True, capture_output=True, text=True, cwd=ROOT).stdout
    resolved = {}
    for line in out.splitlines():
        m = re.match(r"(\S+) v(\S+)(?: \([^)]*\))? \[(.*?)\]", line)
        if m:
            resolved[(m.group(1), m.group(2))] = frozenset(f for f in m.group(3).split(",") if f)
    return resolved


def main():
    per_crate = {crate: features(crate) for crate in CRATES}
    shared = collections.defaultdict(dict)
    for crate, resolved in per_crate.items():
        for package, feats in resolved.items():
            shared[package][crate] = feats
    differ = [(p, sets) for p, sets in sorted(shared.items())
              if p[0] not in ALLOWED and len(set(sets.values())) > 1]
    for (name, version), sets in differ:
        union = frozenset().union(*sets.values())
        missing = {crate: sorted(union - f) for crate, f in sets.items() if union - f}
        print(f"FAIL {name} {version}: features missing per crate {missing}; add the union to workspace-hack/Cargo.toml")
    if differ:
        return 1
    print(f"PASS the function crates share one feature set ({len(shared)} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
