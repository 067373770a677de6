"""The release smoke test: every rotation type's shipped `bootstrap`, taken from its zip in the
release bundle (scripts/package.sh), run as Lambda runs it (a loopback Lambda Runtime API,
exactly Lambda's variables and the ones the bundled template sets, resolved with the
parameters a deployer gives), through a cold start and whole rotations against the sandbox.

For each type, in a fresh process:
  - the zip holds exactly one entry, `bootstrap`, executable, and it is the file the bundle's
    SHA256SUMS names (the checksum is checked);
  - the first invocation (the cold start) and every step of a rotation of a new secret answer
    without an error; alternating users rotate twice (there and back across the pair);
  - afterwards the labels are clean (AWSCURRENT on the last token, no AWSPENDING, AWSPREVIOUS
    on the version before), AWSCURRENT's credentials log in through an independent client
    (psql, the mariadb client, pymongo, pymssql, redis-cli) and, single user, the old ones no
    longer do;
  - the preflight event answers a report with `ok: true`;
  - every line the process printed is JSON, the metrics line names the type, and no password
    the test made or the rotation generated appears in the output.

Databases use verified TLS (the sandbox CAs given as `extraCaCertificates`), as deployments do.
Run it with scripts/smoke.sh (it starts the sandbox; this script starts the MongoDB-wire and
TDS stand-ins the selected types need), or from
scripts/test.sh after the bundle is built. Exit status 1 when any check fails.
"""
import argparse
import hashlib
import json
import os
import stat
import sys
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path

from lambda_bed import (REPO, STEPS, Bed, Function, Moto, env, event, start_mongo_standins,
                        start_tds_standins)

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}", flush=True)
    return ok


def unpack(bundle, app, sums, into):
    """The bootstrap of `<app>.zip`, checked against SHA256SUMS, written to `into`."""
    archive = bundle / f"{app}.zip"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if not check(f"{app}.zip: checksum as SHA256SUMS says", sums.get(archive.name) == digest,
                 f"{digest} against {sums.get(archive.name)}"):
        return None
    with zipfile.ZipFile(archive) as z:
        entries = z.infolist()
        names = [e.filename for e in entries]
        if not check(f"{app}.zip: holds exactly bootstrap", names == ["bootstrap"], str(names)):
            return None
        mode = entries[0].external_attr >> 16
        check(f"{app}.zip: bootstrap is a regular executable file (0755)",
              stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o755, oct(mode))
        path = Path(into) / app / "bootstrap"
        path.parent.mkdir(parents=True)
        path.write_bytes(z.read("bootstrap"))
        path.chmod(0o755)
    return path


def output_checks(label, text, passwords, rotation_type):
    lines = [line for line in text.splitlines() if line.strip()]
    not_json = []
    metrics = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            not_json.append(line[:200])
            continue
        if isinstance(record, dict) and "_aws" in record:
            metrics.append(record)
    check(f"{label}: every output line is JSON", lines and not not_json, f"{len(not_json)} not: {not_json[:3]}")
    check(f"{label}: metrics lines name the rotation type",
          metrics and all(m.get("RotationType") == rotation_type for m in metrics),
          str([m.get("RotationType") for m in metrics][:5]))
    leaked = [p for p in passwords if p and p in text]
    check(f"{label}: no password in the output", not leaked, f"{len(leaked)} passwords found")


def smoke_type(kind, bundle, sums, workdir, moto, lambda_arn, ca_bundle):
    app = kind["sar_app"]
    label = f"{kind['name']} ({kind['binary']})"
    bootstrap = unpack(bundle, app, sums, workdir)
    if not bootstrap:
        return
    bed = Bed(kind, moto)
    ssl = bed.family is not None  # databases: verified TLS; ElastiCache's AUTH is always TLS
    secret = bed.secret(ssl)
    first = moto.value(secret, "AWSCURRENT")
    passwords = [first["password"]]
    for s in bed.secrets.values():
        if s["master"]:
            passwords.append(moto.value(s["master"], "AWSCURRENT")["password"])
    environment = bed.environment(bundle / f"{app}.yaml", f"smoke-{kind['name']}", moto.endpoint, ca_bundle)
    log = Path(workdir) / f"{app}.log"
    function = Function(bootstrap, environment, log)
    try:
        rotations = 2 if kind["strategy"] == "alternating" else 1
        tokens = []
        for n in range(rotations):
            token = moto.start_rotation(secret, lambda_arn)
            for step in STEPS:
                kind_, ms, at, body = function.answer(event(secret, token, step), timeout=60)
                if n == 0 and step == "createSecret":
                    check(f"{label}: cold start answers", kind_ == "ok",
                          f"{kind_}: {body[:300]}")
                    if kind_ == "ok":
                        print(f"     init {(function.runtime.first_poll - function.started) * 1000:.1f} ms, "
                              f"first answer {(at - function.started) * 1000:.1f} ms", flush=True)
                if not check(f"{label}: rotation {n + 1} {step}", kind_ == "ok", f"{kind_}: {body[:300]}"):
                    return
            tokens.append(token)
            current = moto.value(secret, "AWSCURRENT")
            passwords.append(current["password"])
        stages = moto.stages(secret)
        check(f"{label}: AWSCURRENT on the last token, no AWSPENDING, AWSPREVIOUS on the one before",
              stages.get(tokens[-1]) == ["AWSCURRENT"]
              and not any("AWSPENDING" in v for v in stages.values())
              and sum("AWSPREVIOUS" in v for v in stages.values()) == 1
              and "AWSPREVIOUS" not in stages.get(tokens[-1], []), json.dumps(stages))
        current = moto.value(secret, "AWSCURRENT")
        check(f"{label}: the rotation changed the password", current["password"] != first["password"])
        previous = moto.value(secret, "AWSPREVIOUS")
        if kind["binary"] != "generic":  # the generic function changes no service
            check(f"{label}: AWSCURRENT logs in (independent client)", bed.logs_in(current))
        if kind["strategy"] == "single":
            check(f"{label}: the old password no longer logs in", not bed.logs_in(first))
        if kind["strategy"] == "alternating":
            check(f"{label}: alternating users: AWSPREVIOUS (the other user) still logs in",
                  previous["username"] != current["username"] and bed.logs_in(previous))
        if kind["binary"] == "elasticache":
            check(f"{label}: AWSPREVIOUS's password still works (ElastiCache keeps both)",
                  bed.logs_in(previous))
        kind_, ms, at, body = function.answer({"Step": "preflight", "SecretId": secret}, timeout=60)
        report = json.loads(body) if kind_ == "ok" else {}
        failed = [c for c in report.get("checks", []) if not c.get("ok")]
        check(f"{label}: preflight ok", kind_ == "ok" and report.get("ok") is True,
              f"{kind_}: {json.dumps(failed)[:500] if failed else body[:300]}")
    finally:
        function.stop()
    output_checks(label, log.read_text(errors="replace"), passwords, kind["name"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", required=True, help="the release bundle (scripts/package.sh's output)")
    parser.add_argument("--types", default="", help="comma-separated rotation types (default: all)")
    args = parser.parse_args()
    bundle = Path(args.bundle).resolve()
    sums = {}
    for line in (bundle / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.lstrip("*")] = digest
    kinds = tomllib.loads((REPO / "packaging/rotation-types.toml").read_text())["type"]
    if args.types:
        kinds = [k for k in kinds if k["name"] in args.types.split(",")]
    moto = Moto(env("MOTO_ENDPOINT"))
    lambda_arn = moto.rotation_lambda("smoke-rotation-placeholder")
    standins = start_mongo_standins(env("SMOKE_MONGO_STANDIN")) if any("mongo-standin" in k["sandbox"] for k in kinds) else []
    if any("tds-standin" in k["sandbox"] for k in kinds):
        standins += start_tds_standins(env("SMOKE_TDS_STANDIN"))
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="rotation-smoke-") as workdir:
            ca_bundle = Path(workdir) / "ca-bundle.pem"
            ca_bundle.write_text("".join(Path(env(v)).read_text()
                                         for v in ("SANDBOX_PG_CA", "SANDBOX_MARIADB_CA", "SANDBOX_TLS_CA")))
            for kind in kinds:
                smoke_type(kind, bundle, sums, workdir, moto, lambda_arn, str(ca_bundle))
            if results.count(False):
                keep = Path(tempfile.mkdtemp(prefix="rotation-smoke-logs-"))
                for log in Path(workdir).glob("*.log"):
                    (keep / log.name).write_bytes(log.read_bytes())
                print(f"function logs kept in {keep}")
    finally:
        for p in standins:
            p.kill()
    failed = results.count(False)
    print(f"smoke: {len(kinds)} rotation types, {len(results) - failed} checks passed, {failed} failed, "
          f"{time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
