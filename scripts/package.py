"""Writes the release bundle from the per-type `sam build` output (scripts/package.sh runs the
builds first): what a deployer without a Rust toolchain needs, per rotation type

  <SAR app>.zip    the function's code as Lambda stores it: one entry, `bootstrap` (mode 0755),
                   with a fixed timestamp, so the same binary always gives the same zip;
  <SAR app>.yaml   the type's template (packaging/templates/) with `CodeUri: <SAR app>.zip` and
                   no build metadata: `sam deploy --template-file`, or `aws cloudformation
                   package` then `deploy`, upload the zip as it is;

plus README.md (the templates' SAR metadata names it), samconfig.toml (one deploy profile per
type: `sam deploy --template-file dist/<SAR app>.yaml --config-env <type> --guided` reads it
beside the template), the account-wide alert template, and SHA256SUMS over every file
(`sha256sum -c SHA256SUMS`).

    python3 scripts/package.py --builds .aws-sam/types --out dist
"""
import argparse
import hashlib
import shutil
import stat
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = tomllib.loads((ROOT / "packaging" / "rotation-types.toml").read_text())["type"]
# Zip's epoch: a fixed time for every entry, so a zip depends on its bootstrap alone.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def replace_once(text, old, new, where):
    if text.count(old) != 1:
        sys.exit(f"package: expected {old!r} exactly once in {where}, found {text.count(old)}")
    return text.replace(old, new)


def bundle_template(kind):
    """The per-type template with its code pointing at the zip beside it."""
    app = kind["sar_app"]
    source = ROOT / "packaging" / "templates" / f"{app}.yaml"
    text = source.read_text()
    text = replace_once(text, f"      CodeUri: ../../functions/{kind['crate']}\n", f"      CodeUri: {app}.zip\n", source)
    text = replace_once(text, "      BuildMethod: rust-cargolambda\n      BuildProperties:\n"
                        f"        Binary: {kind['binary']}\n", "", source)
    text = replace_once(text, "    ReadmeUrl: ../../README.md\n", "    ReadmeUrl: README.md\n", source)
    header = (f"# Release bundle: packaging/templates/{source.name} with CodeUri pointing at {app}.zip beside it\n"
              "# (the `bootstrap` that scripts/package.sh built). Deploy with `sam deploy --template-file` or\n"
              "# `aws cloudformation package` + `deploy`; no build is needed.\n")
    return header + text


def write_zip(bootstrap, archive):
    info = zipfile.ZipInfo("bootstrap", date_time=FIXED_TIME)
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    info.create_system = 3  # Unix, so the mode is read
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(info, bootstrap.read_bytes(), compresslevel=9)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", required=True, help="directory holding <SAR app>/<SAR app>/bootstrap (sam build output per type)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    builds, out = Path(args.builds), Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written = []
    for kind in TYPES:
        app = kind["sar_app"]
        bootstrap = builds / app / app / "bootstrap"
        if not bootstrap.is_file():
            sys.exit(f"package: {bootstrap} is missing: run `sam build -t packaging/templates/{app}.yaml "
                     f"--build-dir {builds / app}` (scripts/package.sh does)")
        write_zip(bootstrap, out / f"{app}.zip")
        (out / f"{app}.yaml").write_text(bundle_template(kind))
        written += [f"{app}.zip", f"{app}.yaml"]
    shutil.copyfile(ROOT / "README.md", out / "README.md")
    shutil.copyfile(ROOT / "packaging" / "templates" / "samconfig.toml", out / "samconfig.toml")
    written += ["README.md", "samconfig.toml"]
    for extra in sorted((ROOT / "packaging" / "alerts").glob("*.yaml")) if (ROOT / "packaging" / "alerts").is_dir() else []:
        shutil.copyfile(extra, out / extra.name)
        written.append(extra.name)
    lines = [f"{hashlib.sha256((out / name).read_bytes()).hexdigest()}  {name}" for name in sorted(written)]
    (out / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    size = sum((out / f"{t['sar_app']}.zip").stat().st_size for t in TYPES)
    print(f"package: {len(TYPES)} rotation types in {out}/ ({size / 1e6:.1f} MB of zips), SHA256SUMS written")


if __name__ == "__main__":
    main()
