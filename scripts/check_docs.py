#!/usr/bin/env python3
"""Checks that what the docs (README.md and docs/*.md) and the workspace claim holds:

  - the toolchain minimum: the workspace's `rust-version` is the highest `rust_version` any
    locked package declares (from `cargo metadata`), and every "Rust ... X.Y or newer" the docs
    state is that version (a toolchain older than it cannot build the locked crates);
  - deploy commands deploy something built: no documented `sam deploy`, `sam package` or
    `aws cloudformation package` / `deploy` names a source template (template.yaml or
    packaging/templates/*.yaml, whose CodeUri is a crate directory: SAM would upload the source
    without a `bootstrap`); each names a release bundle template (dist/<SAR app>.yaml, from
    scripts/package.sh) or, without a template option, deploys the output of `sam build`;
  - no documented deploy command passes CAPABILITY_RESOURCE_POLICY (a Serverless Application
    Repository capability: CloudFormation refuses it) and the samconfig files do not either.

Exit status 1 when a check fails; every check prints PASS or FAIL.
"""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = tomllib.loads((ROOT / "packaging" / "rotation-types.toml").read_text())["type"]
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}")


def version(text):
    return tuple(int(x) for x in text.split("."))


def documents():
    docs = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("**/*.md"))
    return [(d, d.read_text()) for d in docs if d.is_file()]


def toolchain():
    metadata = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"], cwd=ROOT, check=True,
        capture_output=True, text=True).stdout)
    declared = [(version(p["rust_version"]), p["name"]) for p in metadata["packages"] if p.get("rust_version")]
    minimum, package = max(declared)
    text = ".".join(map(str, minimum))
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["rust-version"]
    check(f"the workspace's rust-version ({workspace}) is the locked packages' highest ({text}, {package})",
          version(workspace) == minimum, f"set rust-version = \"{text}\" in Cargo.toml")
    claims = 0
    for path, body in documents():
        for m in re.finditer(r"Rust[^.\n]{0,80}?\b(1\.\d+(?:\.\d+)?) or newer", body):
            claims += 1
            check(f"{path.name}: \"{m.group(0)}\" names the minimum {text}", version(m.group(1)) == minimum,
                  f"it says {m.group(1)}")
    check("the docs state the Rust toolchain minimum", claims > 0, "no \"Rust ... X.Y or newer\" found")


def commands(body):
    """Shell commands in the text: lines with backslash continuations joined, and inline code."""
    joined = re.sub(r"\\\n\s*", " ", body)
    found = []
    for line in joined.splitlines():
        found += re.findall(r"`([^`\n]+)`", line)
        found.append(line)
    return found


SOURCE_TEMPLATE = re.compile(r"(^|[\s/])(template\.ya?ml|packaging/templates/[^\s]+\.ya?ml)(\s|$)")
TEMPLATE_OPTION = re.compile(r"(?:-t|--template-file|--template)[ =](\S+)")
DEPLOYS = re.compile(r"\b(sam (deploy|package)|aws cloudformation (package|deploy))\b")


def deploy_commands():
    apps = {t["sar_app"] for t in TYPES}
    seen = 0
    for path, body in documents():
        for command in commands(body):
            if not DEPLOYS.search(command):
                continue
            seen += 1
            options = TEMPLATE_OPTION.findall(command)
            for template in options:
                source = bool(SOURCE_TEMPLATE.search(" " + template + " ")) and not template.startswith(".aws-sam/")
                check(f"{path.name}: `{command.strip()[:90]}` deploys a built template", not source,
                      f"{template} is a source template (CodeUri is a crate directory): deploy the bundle's "
                      "dist/<SAR app>.yaml or the output of `sam build`")
                if template.startswith("dist/"):
                    check(f"{path.name}: `{template}` is a template the bundle holds",
                          Path(template).stem in apps and template.endswith(".yaml"),
                          "the bundle holds dist/<SAR app>.yaml for the SAR apps in packaging/rotation-types.toml")
            check(f"{path.name}: `{command.strip()[:90]}` passes only CloudFormation's capabilities",
                  "CAPABILITY_RESOURCE_POLICY" not in command,
                  "CAPABILITY_RESOURCE_POLICY is a Serverless Application Repository capability; CloudFormation refuses it")
    check("the docs show deploy commands", seen > 0)
    for config in (ROOT / "samconfig.toml", ROOT / "packaging" / "templates" / "samconfig.toml"):
        profiles = tomllib.loads(config.read_text())
        bad = [name for name, p in profiles.items() if isinstance(p, dict)
               and "CAPABILITY_RESOURCE_POLICY" in p.get("deploy", {}).get("parameters", {}).get("capabilities", "")]
        check(f"{config.relative_to(ROOT)}: no profile passes CAPABILITY_RESOURCE_POLICY", not bad, ", ".join(bad))


def main():
    toolchain()
    deploy_commands()
    failed = results.count(False)
    print(f"docs: {len(results) - failed} checks passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
