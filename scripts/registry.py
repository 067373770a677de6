#!/usr/bin/env python3
"""Holds the places that name an engine to the registry, packaging/rotation-types.toml.

    python3 scripts/registry.py links   # the link checks, generated from the registry
    python3 scripts/registry.py check   # the generated files, the sandbox, the demo and the
                                        # benchmark's beds against the registry
    python3 scripts/registry.py write   # writes the generated files from the registry

`links` (the test command's phase "each function crate links only its own database driver"):
for each rotation type, `cargo tree -p <crate>` with its binary's release features (as cargo
lambda builds it: the crate's [package.metadata.lambda.bin.<binary>.build]) must show every
crate of its `links` and `links_unused`, and none that another type lists in `links` (unless this type
lists it too), nor any of its optional `must_not_link` or of `[link_check].never`; each crate
in `[link_check].tools` must show its list (the positive half of `never`). Every type has a `links` entry, so each negative check
comes with a positive one on the same tree: a cargo tree that fails or shows nothing fails the
check. A type's optional `core_features` is exactly the features rotation-core has in that
tree. Then no function binary's release tree may have the `test-support` feature.

`write` writes, and `check` compares byte for byte, the files generated from the registry: the
README's support table (between `<!-- registry:begin support -->` and `<!-- registry:end -->`,
from each type's name, binary, sar_app, engines or support_engines, and support),
docs/configuration.md's EXCLUDE_CHARACTERS row (each exclude set with its labels), each type's
sample events (`events`/<step>.json from event_secret_id and event_token) and sample secret
(`sample_secret`, the JSON of `sample`).
`check` also: every type's sample secret names one of its engines (exactly when it has any);
scripts/demo.sh builds every crate and rotates every type's binary with its events;
scripts/sandbox.sh starts, and scripts/setup.sh installs, every
sandbox service a type names; scripts/lambda_bed.py (the benchmark's and the smoke test's beds)
knows every binary, with an engine its types rotate and the protocol of its sandbox service.
"""
import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from check_features import feature_args

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = tomllib.loads((ROOT / "packaging" / "rotation-types.toml").read_text())
TYPES = REGISTRY["type"]
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# The sandbox services a type may name: how scripts/sandbox.sh starts each (None: the script
# that needs it starts it), the Debian package scripts/setup.sh installs for it, and the
# protocol family scripts/lambda_bed.py reaches it with.
SERVICES = {
    "postgresql": ("start_postgres", "postgresql", "pg"),
    "mariadb": ("start_mariadb MARIADB", "mariadb-server", "mysql"),
    "redis": ("start_redis", "redis-server", None),
    "mongo-standin": (None, None, "mongo"),
    "tds-standin": (None, None, "tds"),
}

FAILED = []


def check(ok, message):
    if not ok:
        FAILED.append(message)
        print(f"FAIL {message}")
    return ok


def package(t):
    """The cargo package of a rotation type's crate: functions/<crate> is rotation-<crate>."""
    return f"rotation-{t['crate']}"


def tree(crate, flags=(), fmt=None, edges="normal", target=None):
    """The packages of `cargo tree -p crate` with feature `flags` (names only, or lines in
    `fmt`); fails loudly."""
    cmd = ["cargo", "tree", "--locked", "-p", crate, *flags, "-e", edges, "--prefix", "none"]
    if target:
        cmd += ["--target", target]
    if fmt:
        cmd += ["-f", fmt]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    if fmt:
        return out.splitlines()
    return {line.split(" ")[0] for line in out.splitlines() if line.strip()}


def links():
    used = {dep for t in TYPES for dep in t["links"]}
    never = REGISTRY["link_check"]["never"]
    trees = {}
    checks = 0
    for t in TYPES:
        key = (package(t), tuple(feature_args(t["crate"], t["binary"])))
        if key not in trees:
            trees[key] = (tree(*key), tree(*key, fmt="{p} [{f}]"))
        deps, lines = trees[key]
        where = f"{t['name']} (cargo tree -p {' '.join((key[0], *key[1]))})"
        if "core_features" in t:
            core = [re.match(r"rotation-core v\S+(?: \([^)]*\))? \[(.*?)\]", l) for l in lines]
            found = {m.group(1) for m in core if m}
            checks += 1
            check(found == {",".join(sorted(t["core_features"]))},
                  f"{where} takes rotation-core with features {sorted(found)}, not {t['core_features']}")
        check(t["links"], f"{t['name']}: links is empty (each negative check needs a positive one)")
        for dep in t["links"] + t["links_unused"]:
            checks += 1
            check(dep in deps, f"{where} does not link {dep}: cargo tree no longer shows it, or the registry is stale"
                  + (" (links_unused: move it out, it is now a must-not-link)" if dep in t["links_unused"] else ""))
        for dep in sorted((used - set(t["links"]) - set(t["links_unused"])) | set(never) | set(t.get("must_not_link", ()))):
            checks += 1
            check(dep not in deps, f"{where} links {dep}")
    for crate, wanted in REGISTRY["link_check"]["tools"].items():
        deps = tree(crate)
        for dep in wanted:
            checks += 1
            check(dep in deps, f"cargo tree -p {crate} no longer shows {dep}")
    check(set(never) <= {d for w in REGISTRY["link_check"]["tools"].values() for d in w},
          "every [link_check].never crate needs a tool that links it (its positive check)")
    # The test seams (rotation-core's and rotation-mongodb's feature test-support: redirected
    # hosts, the in-memory store) are in no shipped build: no package of a function's release
    # tree has the feature (the crates' own tests turn it on through dev-dependencies only).
    for crate, flags in dict.fromkeys((package(t), tuple(feature_args(t["crate"], t["binary"]))) for t in TYPES):
        lines = tree(crate, flags, fmt="{p} [{f}]", edges="normal,no-proc-macro", target="x86_64-unknown-linux-gnu")
        checks += 1
        check(lines, f"cargo tree -p {crate} {' '.join(flags)} showed nothing")
        for line in lines:
            check(not re.search(r"[\[,]test-support[\],]", line), f"{crate}'s release build has a test-support feature: {line}")
    if FAILED:
        return 1
    print(f"PASS {checks} link checks from packaging/rotation-types.toml")
    return 0


# The places generated from the registry (`write` writes them, `check` compares byte for byte).
README_BEGIN = "<!-- registry:begin support -->"
README_END = "<!-- registry:end -->"


def shown_exclude(t):
    return f"`{t['exclude'].rstrip(' ')}`" + (" and space" if t["exclude"].endswith(" ") else "")


def support_table():
    """README.md's support table: one row per type, from its name, binary, SAR app, engines (or
    `support_engines` when it has none) and `support` (the status cell)."""
    rows = ["| `rotationType` (binary) | Replaces SAR app | Engines (`engine` key) | Status |", "|---|---|---|---|"]
    for t in TYPES:
        engines = t.get("support_engines") or ", ".join(f"`{e}`" for e in t["engines"])
        rows.append(f"| `{t['name']}` (`{t['binary']}`) | `{t['sar_app']}` | {engines} | {t['support']} |")
    return "\n".join(rows)


def exclude_row():
    """docs/configuration.md's EXCLUDE_CHARACTERS row: each exclude set (first seen first) with
    the labels of the types that have it."""
    groups = {}
    for t in TYPES:
        labels = groups.setdefault(shown_exclude(t), [])
        if t["label"] not in labels:
            labels.append(t["label"])
    defaults = "; ".join(f"{shown} {', '.join(labels)}" for shown, labels in groups.items())
    return f"| `EXCLUDE_CHARACTERS` | `excludeCharacters` | {defaults} | Characters never used in generated passwords. |"


def generated():
    """{path: text} of every file generated from the registry."""
    files = {}
    readme = (ROOT / "README.md").read_text()
    begin, end = readme.find(README_BEGIN), readme.find(README_END)
    if begin >= 0 and end > begin:
        files["README.md"] = readme[:begin] + README_BEGIN + "\n" + support_table() + "\n" + readme[end:]
    else:
        FAILED.append(f"README.md has no {README_BEGIN} ... {README_END} block")
        print(f"FAIL {FAILED[-1]}")
    config = (ROOT / "docs" / "configuration.md").read_text()
    lines = config.split("\n")
    at = [i for i, line in enumerate(lines) if line.startswith("| `EXCLUDE_CHARACTERS`")]
    if len(at) == 1:
        lines[at[0]] = exclude_row()
        files["docs/configuration.md"] = "\n".join(lines)
    else:
        FAILED.append(f"docs/configuration.md has {len(at)} EXCLUDE_CHARACTERS rows, not one")
        print(f"FAIL {FAILED[-1]}")
    for t in TYPES:
        for step in STEPS:
            event = {"Step": step, "SecretId": t["event_secret_id"], "ClientRequestToken": t["event_token"]}
            files[f"{t['events']}/{step}.json"] = json.dumps(event, indent=2) + "\n"
        files[t["sample_secret"]] = json.dumps(t["sample"], indent=2, ensure_ascii=False) + "\n"
    return files


def write():
    files = generated()
    for path, text in files.items():
        target = ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
            print(f"wrote {path}")
    return 1 if FAILED else 0


def check_generated():
    files = generated()
    for path, text in files.items():
        target = ROOT / path
        check(target.is_file() and target.read_text() == text,
              f"{path} is not what `python3 scripts/registry.py write` writes from packaging/rotation-types.toml")
    return len(files)


def registry_check():
    demo = (ROOT / "scripts" / "demo.sh").read_text()
    sandbox = (ROOT / "scripts" / "sandbox.sh").read_text()
    lib = (ROOT / "scripts" / "lib.sh").read_text()
    bed = (ROOT / "scripts" / "lambda_bed.py").read_text()
    for t in TYPES:
        name = t["name"]
        sample = ROOT / t["sample_secret"]
        if check(sample.is_file(), f"{name}: sample secret {t['sample_secret']} is missing"):
            engine = json.loads(sample.read_text()).get("engine")
            check(engine is None or engine in t["engines"], f"{name}: {t['sample_secret']} names engine {engine}, not one of {t['engines']}")
            check((engine is None) == (not t["engines"]), f"{name}: {t['sample_secret']} must name an engine exactly when the type has engines")
        for step in STEPS:
            check((ROOT / t["events"] / f"{step}.json").is_file(), f"{name}: {t['events']}/{step}.json is missing")
        check(re.search(rf"^rotate {re.escape(t['binary'])} {re.escape(t['events'])} ", demo, re.M),
              f"scripts/demo.sh does not rotate {name} (a line `rotate {t['binary']} {t['events']} ...`)")
        check(f"-p {package(t)}" in demo, f"scripts/demo.sh does not build {package(t)} (-p {package(t)})")
        cargo = ROOT / "functions" / t["crate"] / "Cargo.toml"
        if check(cargo.is_file(), f"{name}: crate {t['crate']} has no functions/{t['crate']}/Cargo.toml"):
            found = tomllib.loads(cargo.read_text())["package"]["name"]
            check(found == package(t), f"{name}: functions/{t['crate']} is package {found}; the rule is {package(t)}")
        for service in t["sandbox"]:
            if not check(service in SERVICES, f"{name}: unknown sandbox service {service} (one of {sorted(SERVICES)})"):
                continue
            start, apt, _ = SERVICES[service]
            if start:
                check(re.search(rf"^\s+{start}$", sandbox, re.M), f"scripts/sandbox.sh start does not run {start} ({name} needs {service})")
            if apt:
                check(re.search(rf"APT_PACKAGES=\(.*\b{apt}\b", lib), f"scripts/lib.sh APT_PACKAGES lacks {apt} ({name} needs {service})")
    generated_files = check_generated()
    # lambda_bed.Bed: the engine each binary's bed secrets name, and the protocol they speak.
    engines = re.search(r"ENGINES = (\{.*?\})", bed, re.S)
    families = re.search(r"self\.family = (\{.*?\})", bed, re.S)
    if check(engines and families, "scripts/lambda_bed.py: Bed.ENGINES or Bed's family table not found"):
        engines, families = ast.literal_eval(engines.group(1)), ast.literal_eval(families.group(1))
        binaries = {t["binary"]: t for t in TYPES}
        check(set(engines) == set(binaries), f"scripts/lambda_bed.py Bed.ENGINES names {sorted(engines)}, the registry's binaries are {sorted(binaries)}")
        for binary, t in binaries.items():
            engine = engines.get(binary)
            check(engine is None if not t["engines"] else engine in t["engines"],
                  f"scripts/lambda_bed.py Bed.ENGINES[{binary}] = {engine!r}, not one of {t['engines']}")
            wanted = [SERVICES[s][2] for s in t["sandbox"] if s in SERVICES and SERVICES[s][2]]
            check(families.get(binary) == (wanted[0] if wanted else None),
                  f"scripts/lambda_bed.py Bed family of {binary} = {families.get(binary)!r}, its sandbox service says {wanted}")
    if FAILED:
        return 1
    print(f"PASS the demo, sandbox and benchmark beds match packaging/rotation-types.toml ({len(TYPES)} types), and the "
          f"{generated_files} files generated from it (README's support table, docs/configuration.md's EXCLUDE_CHARACTERS row, "
          "sample events and secrets) are what `registry.py write` writes")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("links", "check", "write"):
        sys.exit(__doc__)
    sys.exit({"links": links, "check": registry_check, "write": write}[sys.argv[1]]())
