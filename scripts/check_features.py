#!/usr/bin/env python3
"""Fails when the function binaries resolve a library they share to different feature sets.

sam build runs one cargo invocation per binary (`cargo lambda build --bin <name>` in its crate,
with the features its crate's [package.metadata.lambda.bin.<name>.build] names); a library whose
features differ between two of them (and everything that depends on it) is compiled once per
feature set. The workspace-hack crate lists the union for the crates that depend on it (not
generic, which builds with only what it asks for); this check finds a difference it misses, e.g.
after a dependency upgrade, by comparing what `cargo tree` resolves for each binary's release
target (proc-macro dependencies, built for the host, left out). The core itself (rotation-core,
with or without its database layer) is allowed to differ.
"""
import collections
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = tomllib.loads((ROOT / "packaging" / "rotation-types.toml").read_text())["type"]
# The core, and a crate whose binaries build with different features of its own (postgresql).
ALLOWED = {"rotation-core", "rotation-postgresql"}


def manifest(crate):
    return tomllib.loads((ROOT / "functions" / crate / "Cargo.toml").read_text())


def feature_args(crate, binary):
    """The cargo feature flags the release build of `binary` uses (cargo lambda reads them from
    the crate's [package.metadata.lambda.bin.<binary>.build]; none: the crate's defaults)."""
    build = (manifest(crate).get("package", {}).get("metadata", {}).get("lambda", {})
             .get("bin", {}).get(binary, {}).get("build", {}))
    args = ["--no-default-features"] if build.get("no_default_features") else []
    if build.get("features"):
        args += ["--features", ",".join(build["features"])]
    return args


# Every function binary the rotation types are built from, of the crates that share the
# workspace-hack's feature set: (binary, crate, feature flags).
BINARIES = [(b, c, feature_args(c, b))
            for b, c in dict.fromkeys((t["binary"], t["crate"]) for t in TYPES)
            if "workspace-hack" in manifest(c).get("dependencies", {})]


def features(crate, flags):
    out = subprocess.run(
        ["cargo", "tree", "--locked", "-p", f"rotation-{crate}", *flags, "-e", "normal,no-proc-macro",
         "--prefix", "none", "--target", "x86_64-unknown-linux-gnu", "-f", "{p} [{f}]"],
        check=True, capture_output=True, text=True, cwd=ROOT).stdout
    resolved = {}
    for line in out.splitlines():
        m = re.match(r"(\S+) v(\S+)(?: \([^)]*\))? \[(.*?)\]", line)
        if m:
            resolved[(m.group(1), m.group(2))] = frozenset(f for f in m.group(3).split(",") if f)
    return resolved


def main():
    per_crate = {binary: features(crate, flags) for binary, crate, flags in BINARIES}
    shared = collections.defaultdict(dict)
    for crate, resolved in per_crate.items():
        for package, feats in resolved.items():
            shared[package][crate] = feats
    differ = [(p, sets) for p, sets in sorted(shared.items())
              if p[0] not in ALLOWED and len(set(sets.values())) > 1]
    for (name, version), sets in differ:
        union = frozenset().union(*sets.values())
        missing = {crate: sorted(union - f) for crate, f in sets.items() if union - f}
        print(f"FAIL {name} {version}: features missing per binary {missing}; add the union to workspace-hack/Cargo.toml")
    if differ:
        return 1
    print(f"PASS the function binaries share one feature set ({len(shared)} packages, {len(BINARIES)} binaries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
