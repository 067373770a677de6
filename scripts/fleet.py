"""The fleet benchmark (issue 33): hundreds of secrets rotated in the same window against the
same databases, by tens of function processes at once, with Secrets Manager throttling some
calls and the databases' connection limits low enough to be reached.

Run it with scripts/fleet.sh, which starts a sandbox of its own (PostgreSQL with a low
`max_connections`) and builds or takes the release binaries. What it does, per retry mode
(`--retry-modes`, each run with a fresh set of secrets):

- makes `--secrets` secrets, round robin over PostgreSQL and MariaDB, alternating users and
  single user (lambda_bed.Bed: a database user each, and a superuser secret for alternating
  users);
- starts `--processes` function processes, split evenly over the four rotation types (one
  Lambda function per type, its concurrency the number of its processes), each with the
  environment its template sets plus `AWS_RETRY_MODE`, under its own loopback Runtime API;
  Secrets Manager is moto behind the counting proxy, which answers `--throttle` of the calls
  with `ThrottlingException` (HTTP 400);
- a worker per process takes secrets from its function's queue and rotates each as Secrets
  Manager does: RotateSecret (a new AWSPENDING version), then the four steps in order; a step
  that fails is delivered again after a backoff (a retry), at most `--deliveries` times in all;
  a process that exits or times out is replaced, as Lambda replaces it;
- watches the databases' connections: PostgreSQL's client backends (pg_stat_activity, polled
  every 0.02 s by one psql session, itself not counted), MariaDB's Max_used_connections, and the
  refusals for the connection limit (PostgreSQL's log, MariaDB's
  Connection_errors_max_connections); MariaDB takes no max_connections below 10, so
  `--mariadb-held` idle sessions (the application's own) take part of it during the run;
- checks every secret at the end with an independent client (psql, the mariadb client): its
  AWSCURRENT version is the rotation's token, no AWSPENDING is left, and AWSCURRENT logs in.

Reports wall time, rotation time (p50/p95: RotateSecret to the last step's answer, backoffs
included), re-deliveries, failed deliveries by step and `errorType`, Secrets Manager calls and
throttles, peak connections. Writes results.md and results.json to `--out`.
"""
import argparse
import json
import os
import queue
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lambda_bed import REPO, STEPS, Bed, CountingProxy, Function, Moto, env, event, mariadb

TYPES = ["PostgreSQLMultiUser", "PostgreSQLSingleUser", "MariaDBMultiUser", "MariaDBSingleUser"]


class SerialMoto(Moto):
    """Moto with CreateSecret one at a time: moto 5.2.5 is not thread-safe there (two at once
    can fail with HTTP 500, "dictionary changed size during iteration")."""
    create_lock = threading.Lock()

    def sm(self, operation, body):
        if operation == "CreateSecret":
            with self.create_lock:
                return super().sm(operation, body)
        return super().sm(operation, body)


# ------------------------------------------------------------------------------ the databases

def mariadb_query(sql):
    """The rows of `sql` on the sandbox MariaDB as root (tab-separated, no header)."""
    done = subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", env("SANDBOX_MARIADB_PORT"),
                           "-uroot", "-Nse", sql], env=dict(os.environ, MYSQL_PWD=env("SANDBOX_MARIADB_PASSWORD")),
                          check=True, capture_output=True, text=True)
    return [line.split("\t") for line in done.stdout.splitlines()]


def mariadb_status():
    """MariaDB's connection figures: Max_used_connections and the refusals for the limit."""
    rows = mariadb_query("SHOW GLOBAL STATUS WHERE Variable_name IN "
                         "('Max_used_connections', 'Connection_errors_max_connections')")
    return {name: int(value) for name, value in rows}


def hold_mariadb_connections(count):
    """`count` idle sessions on the sandbox MariaDB (root, each in a SLEEP): the application's
    own connections, which leave the fleet only part of max_connections (MariaDB takes no limit
    below 10). Returns their client processes."""
    held = [subprocess.Popen(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", env("SANDBOX_MARIADB_PORT"),
                              "-uroot", "-Nse", "SELECT SLEEP(86400)"],
                             env=dict(os.environ, MYSQL_PWD=env("SANDBOX_MARIADB_PASSWORD")),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)]
    for _ in range(100):  # until all are in their SLEEP
        if int(mariadb_query("SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(86400)'")[0][0]) >= count:
            break
        time.sleep(0.1)
    return held


class PgWatch:
    """One psql session that counts PostgreSQL's client backends every 0.02 s (`\\watch`);
    `peak` is the largest count seen, without the watching session itself (a connection shorter
    than the interval can be missed: the peak is a lower bound)."""

    def __init__(self):
        self.peak, self.samples = 0, 0
        self.process = subprocess.Popen(
            ["psql", "-h", "127.0.0.1", "-p", env("SANDBOX_PG_PORT"), "-U", "postgres", "-d", "postgres", "-Atq"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, PGPASSWORD=env("SANDBOX_PG_PASSWORD")))
        self.process.stdin.write("SELECT count(*) - 1 FROM pg_stat_activity "
                                 "WHERE backend_type = 'client backend' \\watch 0.02\n")
        self.process.stdin.flush()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.process.stdout:
            if line.strip().isdigit():
                self.samples += 1
                self.peak = max(self.peak, int(line))

    def stop(self):
        self.process.kill()
        self.process.wait()


def pg_refusals(log_path, offset):
    """PostgreSQL's connection-limit refusals logged after byte `offset` of its log."""
    with open(log_path, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    return len(re.findall(r"FATAL:.*(too many clients|remaining connection slots)", text))


# ----------------------------------------------------------------------------- the functions

class Slot:
    """One process of a function (a Lambda execution environment): replaced when it exits or
    does not answer in time."""

    def __init__(self, bootstrap, environment, log_path):
        self.bootstrap, self.environment, self.log_path = bootstrap, environment, log_path
        self.function = Function(bootstrap, environment, log_path)
        self.restarts = 0

    def restart(self):
        self.function.stop()
        self.function = Function(self.bootstrap, self.environment, self.log_path)
        self.restarts += 1


def error_type(kind, body):
    """(errorType, message) of a failed delivery: the function's answer, or what the runtime
    saw (`exited`, `timeout`)."""
    if kind in ("error", "init-error"):
        try:
            answer = json.loads(body)
            return answer.get("errorType", "?"), answer.get("errorMessage", "")
        except ValueError:
            return "unparsable", body
    return kind, body


def cause_of(message):
    """What made a delivery fail, read from its message: the connection limit (PostgreSQL's
    SQLSTATE 53300, MariaDB's error 1040 "Too many connections"), throttling, an SDK timeout,
    or something else."""
    if any(m in message for m in ("SQLSTATE 53300", "too many clients", "Too many connections")):
        return "connection limit"
    if "ThrottlingException" in message:
        return "throttled"
    if "timed out" in message or "timeout" in message:
        return "SDK timeout"
    return "other"


def rotate(slot, bed, secret, moto, lambda_arn, args):
    """Rotates `secret` as Secrets Manager does, re-delivering a failed step; returns its record."""
    record = {"secret": secret, "type": bed.kind, "retries": 0, "errors": [], "ok": False}
    started = time.perf_counter()
    try:
        token = moto.start_rotation(secret, lambda_arn)
    except RuntimeError as e:
        record["errors"].append({"step": "RotateSecret", "errorType": "start", "message": str(e)[:300]})
        record["ms"] = (time.perf_counter() - started) * 1000
        return record
    record["token"] = token
    for step in STEPS:
        for delivery in range(1, args.deliveries + 1):
            kind, _, _, body = slot.function.answer(event(secret, token, step), timeout=args.timeout)
            if kind == "ok":
                break
            etype, message = error_type(kind, body)
            record["errors"].append({"step": step, "errorType": etype, "message": message[:400],
                                     "delivery": delivery})
            if kind != "error":
                slot.restart()
            if delivery == args.deliveries:
                record["failed_step"] = step
                record["ms"] = (time.perf_counter() - started) * 1000
                return record
            record["retries"] += 1
            time.sleep(args.backoff * delivery * random.uniform(0.5, 1.5))
    record["ok"] = True
    record["ms"] = (time.perf_counter() - started) * 1000
    return record


def worker(slot, jobs, moto, lambda_arn, args, records, lock):
    """A process's worker: rotates secrets from its function's queue until it is empty."""
    while True:
        try:
            bed, secret = jobs.get_nowait()
        except queue.Empty:
            return
        record = rotate(slot, bed, secret, moto, lambda_arn, args)
        with lock:
            records.append(record)


# ---------------------------------------------------------------------------------- the run

def make_secrets(beds, count):
    """`count` secrets, round robin over the beds, made four at a time; [(bed, ARN)]."""
    order = [beds[i % len(beds)] for i in range(count)]
    with ThreadPoolExecutor(4) as pool:
        arns = list(pool.map(lambda bed: bed.secret(False), order))
    return list(zip(order, arns))


def verify(bed, secret, token):
    """(logs in, problem): whether AWSCURRENT logs in (asked of psql / the mariadb client),
    and None when the rotation is complete (AWSCURRENT is its version, no AWSPENDING left),
    else what is not."""
    moto = bed.moto
    stages = moto.stages(secret)
    works = bed.logs_in(moto.value(secret, "AWSCURRENT"))
    current = [v for v, s in stages.items() if "AWSCURRENT" in s]
    if current != [token]:
        return works, "AWSCURRENT is not the rotation's version"
    if any("AWSPENDING" in s for s in stages.values()):
        return works, "AWSPENDING left"
    return works, None if works else "AWSCURRENT does not log in"


def summary(values):
    if not values:
        return None
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p95": p95, "max": ordered[-1], "n": len(ordered)}


def run(mode, kinds, moto, lambda_arn, args, out):
    """One fleet run with AWS_RETRY_MODE=`mode`; returns its figures."""
    print(f"fleet: {mode}: making {args.secrets} secrets", file=sys.stderr)
    beds = [Bed(k, moto) for k in kinds]
    secrets = make_secrets(beds, args.secrets)
    proxy = CountingProxy(moto, throttle=args.throttle, seed=args.seed)
    ca_bundle = str(out / "ca-bundle.pem")
    per_type = [args.processes // len(beds) + (1 if i < args.processes % len(beds) else 0) for i in range(len(beds))]
    slots, jobs = [], {}
    for bed, n in zip(beds, per_type):
        template = REPO / "packaging/templates" / f"{bed.type['sar_app']}.yaml"
        environment = bed.environment(template, f"fleet-{bed.kind}", proxy.endpoint, ca_bundle)
        environment["AWS_RETRY_MODE"] = mode
        bootstrap = Path(args.bin_dir) / bed.binary
        jobs[bed.kind] = queue.Queue()
        slots += [(bed.kind, Slot(bootstrap, environment, out / f"{mode}-{bed.kind}.log")) for _ in range(n)]
    for bed, secret in secrets:
        jobs[bed.kind].put((bed, secret))

    mariadb(f"SET GLOBAL max_connections = {args.mariadb_max_connections}; FLUSH STATUS;")
    mariadb_limit = int(mariadb_query("SELECT @@max_connections")[0][0])  # as the server took it
    held = hold_mariadb_connections(args.mariadb_held)
    pg_log = env("SANDBOX_PG_LOG")
    pg_offset = os.path.getsize(pg_log)
    watch = PgWatch()
    proxy.take()
    records, lock = [], threading.Lock()
    print(f"fleet: {mode}: rotating with {len(slots)} processes", file=sys.stderr)
    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(slot, jobs[kind], moto, lambda_arn, args, records, lock))
               for kind, slot in slots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    watch.stop()
    calls = proxy.take()
    status = mariadb_status()
    pg_refused = pg_refusals(pg_log, pg_offset)  # before the verification's own logins
    for p in held:
        p.kill()
        p.wait()
    mariadb("SET GLOBAL max_connections = 151;")
    restarts = sum(slot.restarts for _, slot in slots)
    for _, slot in slots:
        slot.function.stop()
    proxy.shutdown()
    proxy.server_close()

    print(f"fleet: {mode}: verifying {len(records)} secrets with psql / mariadb", file=sys.stderr)
    bed_of = {secret: bed for bed, secret in secrets}
    with ThreadPoolExecutor(6) as pool:
        problems = list(pool.map(lambda r: verify(bed_of[r["secret"]], r["secret"], r.get("token")), records))
    for record, (works, problem) in zip(records, problems):
        record["verified"], record["logs_in"], record["problem"] = problem is None, works, problem
    problems = [p for _, p in problems]

    failures, causes = {}, {}
    for r in records:
        for e in r["errors"]:
            key = f"{r['type']} {e['step']} {e['errorType']}"
            entry = failures.setdefault(key, {"count": 0, "example": e["message"]})
            entry["count"] += 1
            cause = causes.setdefault(f"{cause_of(e['message'])}: {e['errorType']}",
                                      {"deliveries": 0, "rotations_completed": 0, "rotations_failed": 0})
            cause["deliveries"] += 1
            cause["rotations_completed" if r["ok"] and r["verified"] else "rotations_failed"] += 1
    throttled = sum(v for k, v in calls.items() if k.startswith("Throttled:"))
    return {
        "mode": mode, "secrets": args.secrets, "processes": len(slots), "per_type": dict(zip([b.kind for b in beds], per_type)),
        "throttle": args.throttle, "pg_max_connections": int(os.environ.get("SANDBOX_PG_MAX_CONNECTIONS", "300")),
        "mariadb_max_connections": mariadb_limit, "mariadb_held": args.mariadb_held, "deliveries": args.deliveries, "backoff": args.backoff,
        "wall_s": wall, "rotation_ms": summary([r["ms"] for r in records if r["ok"]]),
        "rotations_ok": sum(r["ok"] for r in records), "rotations_failed": sum(not r["ok"] for r in records),
        "verified": sum(r["verified"] for r in records), "logs_in": sum(r["logs_in"] for r in records),
        "not_verified": {p: problems.count(p) for p in set(problems) if p},
        "retries": sum(r["retries"] for r in records), "rotations_retried": sum(r["retries"] > 0 for r in records),
        "failures": dict(sorted(failures.items(), key=lambda kv: -kv[1]["count"])),
        "causes": dict(sorted(causes.items(), key=lambda kv: -kv[1]["deliveries"])),
        "sm_calls": sum(v for k, v in calls.items() if not k.startswith("Throttled:")), "sm_throttled": throttled,
        "calls": calls, "pg_peak_connections": watch.peak, "pg_watch_samples": watch.samples,
        "pg_refusals": pg_refused,
        "mariadb_peak_connections": status.get("Max_used_connections"),
        # Fewer than the refusals the functions saw (error 1040) in the runs: kept, not reported.
        "mariadb_refusals": status.get("Connection_errors_max_connections"),
        "limit_deliveries": sum(v["deliveries"] for k, v in causes.items() if k.startswith("connection limit")),
        "process_restarts": restarts,
        "failed_rotations": [r for r in records if not r["ok"] or not r["verified"]][:20],
    }


def check_retry_mode(kinds, moto, out):
    """Shows the functions read AWS_RETRY_MODE: `adaptive` starts, an unknown mode stops
    start-up (the SDK refuses it). Returns {mode: what the first invocation got}."""
    bed = Bed(kinds[0], moto)
    secret = bed.secret(False)
    template = REPO / "packaging/templates" / f"{bed.type['sar_app']}.yaml"
    environment = bed.environment(template, "fleet-retry-mode", moto.endpoint, str(out / "ca-bundle.pem"))
    seen = {}
    for mode in ("adaptive", "no-such-mode"):
        function = Function(Path(ARGS.bin_dir) / bed.binary, dict(environment, AWS_RETRY_MODE=mode),
                            out / "retry-mode-check.log")
        kind, _, _, body = function.answer(event(secret, "00000000-0000-0000-0000-000000000000", "finishSecret"), 20)
        function.stop()
        # A started process answers (UnknownVersion: the token is made up); one that could not
        # start exits.
        seen[mode] = "started" if kind in ("ok", "error") else f"did not start ({kind})"
    return seen


def report(results, retry_check):
    lines = [f"Fleet run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; AWS_RETRY_MODE check: "
             + ", ".join(f"`{m}` -> {v}" for m, v in retry_check.items()), "",
             "| AWS_RETRY_MODE | secrets / processes | wall s | rotation ms p50 / p95 / max | rotations ok / failed "
             "| complete and verified / AWSCURRENT logs in | re-deliveries (rotations retried) | SM calls / throttled "
             "| peak connections PG (limit) / MariaDB (limit) | connection-limit refusals: PG log / failed deliveries "
             "| process restarts |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ms = r["rotation_ms"] or {"p50": 0, "p95": 0, "max": 0}
        lines.append(
            f"| {r['mode']} | {r['secrets']} / {r['processes']} | {r['wall_s']:.0f} | "
            f"{ms['p50']:.0f} / {ms['p95']:.0f} / {ms['max']:.0f} | {r['rotations_ok']} / {r['rotations_failed']} | "
            f"{r['verified']} / {r['logs_in']} | {r['retries']} ({r['rotations_retried']}) | "
            f"{r['sm_calls']} / {r['sm_throttled']} | {r['pg_peak_connections']} ({r['pg_max_connections']}) / "
            f"{r['mariadb_peak_connections']} ({r['mariadb_max_connections']}, {r['mariadb_held']} held) | {r['pg_refusals']} / "
            f"{r['limit_deliveries']} | {r['process_restarts']} |")
    for r in results:
        lines += ["", f"Failed deliveries by cause and errorType, `{r['mode']}`: deliveries; rotations completed "
                  "/ failed (a rotation counts once per failed delivery):", ""]
        lines += [f"- {k}: {v['deliveries']}; {v['rotations_completed']} / {v['rotations_failed']}"
                  for k, v in r["causes"].items()] or ["- none"]
        lines += ["", f"Failed deliveries, `{r['mode']}` (type, step, errorType: count; an example message):", ""]
        lines += [f"- {k}: {v['count']}; \"{v['example'][:300]}\"" for k, v in r["failures"].items()] or ["- none"]
    return "\n".join(lines) + "\n"


ARGS = None


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secrets", type=int, default=500)
    parser.add_argument("--processes", type=int, default=50)
    parser.add_argument("--throttle", type=float, default=0.2, help="share of Secrets Manager calls throttled")
    parser.add_argument("--mariadb-max-connections", type=int, default=10, help="(MariaDB takes no less than 10)")
    parser.add_argument("--mariadb-held", type=int, default=8, help="idle sessions held on MariaDB during the run")
    parser.add_argument("--deliveries", type=int, default=5, help="deliveries of a step at most (1 + re-deliveries)")
    parser.add_argument("--backoff", type=float, default=1.0, help="seconds before re-delivery n, times n (jittered)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a delivery may take (then the process is replaced)")
    parser.add_argument("--retry-modes", default="standard,adaptive")
    parser.add_argument("--seed", type=int, default=None, help="seed of the throttling draw")
    parser.add_argument("--bin-dir", required=True, help="directory with the postgresql and mariadb binaries")
    parser.add_argument("--out", required=True)
    ARGS = args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ca-bundle.pem").write_text(Path(env("SANDBOX_PG_CA")).read_text() + Path(env("SANDBOX_MARIADB_CA")).read_text())
    kinds = {k["name"]: k for k in tomllib.loads((REPO / "packaging/rotation-types.toml").read_text())["type"]}
    kinds = [kinds[name] for name in TYPES]
    moto = SerialMoto(env("MOTO_ENDPOINT"))
    lambda_arn = moto.rotation_lambda("fleet-rotation-placeholder")
    retry_check = check_retry_mode(kinds, moto, out)
    print(f"fleet: AWS_RETRY_MODE check: {retry_check}", file=sys.stderr)
    results = []
    for mode in args.retry_modes.split(","):
        results.append(run(mode, kinds, moto, lambda_arn, args, out))
        (out / "results.json").write_text(json.dumps({"retry_check": retry_check, "runs": results}, indent=1))
    text = report(results, retry_check)
    (out / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
