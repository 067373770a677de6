#!/usr/bin/env python3
"""Writes the SAM templates from the one list of rotation types (packaging/rotation-types.toml):

  - template.yaml: one stack, one function, the rotation type chosen by `rotationType`;
  - packaging/templates/<SAR app>.yaml: one SAR-shaped template per type, named after the SAR
    app it replaces, with that app's parameters (and ours) and no `rotationType`, so swapping
    the application id is the whole migration;
  - one deploy profile per type, each with its own stack name (deploying a second type must not
    replace the first): the part of samconfig.toml after its marker line, and
    packaging/templates/samconfig.toml (which SAM reads for the templates beside it);
  - packaging/alerts/SecretsManagerRotationAlerts.yaml: the account-wide alert on Secrets
    Manager's RotationFailed / RotationAbandoned events, deployed once per account and region.

Run it with the tools venv's Python (scripts/setup.sh installs ruamel.yaml there):

    ~/.cache/secrets-rotation-rs/venv/bin/python3 scripts/templates.py write    # regenerate after editing the list
    ~/.cache/secrets-rotation-rs/venv/bin/python3 scripts/templates.py check    # fail if a committed file differs (the test command)

Each template is built as data and written through ruamel.yaml (scripts/template_writer/: one
module per part). Every type's function, invoke permission and output value are flat, each
guarded by its own condition: adding a type adds entries, never a deeper `!If`.
"""
import sys

try:
    from template_writer.documents import alerts, template
    from template_writer.rotation_types import ALERTS_PATH, PER_TYPE_DIR, ROOT, TYPES
    from template_writer.samconfig import samconfigs
except ModuleNotFoundError as missing:
    if missing.name and missing.name.startswith("ruamel"):
        sys.exit("templates.py needs ruamel.yaml: run it with the tools venv's Python "
                 "(~/.cache/secrets-rotation-rs/venv/bin/python3; scripts/setup.sh creates it)")
    raise


def rendered():
    """{path: text} of every template and SAM configuration file."""
    files = {ROOT / "template.yaml": template(TYPES)}
    for t in TYPES:
        files[PER_TYPE_DIR / f"{t['sar_app']}.yaml"] = template([t])
    files[ALERTS_PATH] = alerts()
    files.update(samconfigs())
    return files


def main(mode):
    """write: (re)writes every file; check: fails when a committed file is not byte for byte
    what would be written, or a template there is not one this script writes."""
    files = rendered()
    if mode == "write":
        PER_TYPE_DIR.mkdir(parents=True, exist_ok=True)
        ALERTS_PATH.parent.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    extra = sorted((set(PER_TYPE_DIR.glob("*.yaml")) | set(ALERTS_PATH.parent.glob("*.yaml"))) - set(files))
    for p in stale:
        print(f"FAIL {p.relative_to(ROOT)} differs from what scripts/templates.py writes")
    for p in extra:
        print(f"FAIL {p.relative_to(ROOT)} is not a template scripts/templates.py writes (a rotation type in packaging/rotation-types.toml, or the alerts template)")
    if stale or extra:
        print("run: ~/.cache/secrets-rotation-rs/venv/bin/python3 scripts/templates.py write")
        return 1
    print(f"PASS {len(files)} templates and SAM configurations match packaging/rotation-types.toml")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
