"""The benchmark: every rotation type's shipped `bootstrap` (its zip in the release bundle,
scripts/package.sh), driven through a loopback Lambda Runtime API as Lambda drives it, with the
environment its bundled template sets, against the sandbox (moto, PostgreSQL, MariaDB, Redis) and,
for the DocumentDB / MongoDB types, the testkit's MongoDB-wire stand-in in its DocumentDB 4.0
personality (`BENCH_MONGO_STANDIN`: two processes, one serving TLS and one plaintext; users
created with pymongo, `SANDBOX_PYMONGO`), and for the SQL Server types the testkit's TDS
stand-in (`BENCH_TDS_STANDIN`: two processes, one forcing TLS and one without a certificate;
logins created with pymssql, `SANDBOX_TDS_PYTHON`).

Run it with scripts/bench.sh, which starts a sandbox, builds the release bundle and calls this
with the sandbox environment set. For each rotation type it measures:

- cold start: `--spawns` fresh processes, each answering one no-op invocation (finishSecret of
  a finished rotation: one DescribeSecret). Init is process start to the first poll of
  /runtime/invocation/next; first invocation is the event handed out to its response; cold
  start is process start to that response.
- warm latency: one process rotating one secret `--rotations` times, over plain TCP (`"ssl":
  false`) and over verified TLS (`"ssl": true`), each rotation started as RotateSecret starts
  it; each step's latency is the event handed out to its response.
- work per rotation, counted: Secrets Manager calls by operation (a counting proxy in front of
  moto), database connections, logins and statements (a relay in front of each server that
  reads the wire protocol; statements are read on plain TCP only, TLS hides them).
- size and memory: `bootstrap` size, its zip as shipped, peak RSS (VmHWM) of the warm
  process after init and all its rotations.

Every invocation must succeed; anything else stops the benchmark. Writes a Markdown table and
the raw figures (JSON) to `--out`.
"""
import argparse
import json
import os
import socket
import statistics
import sys
import threading
import time
import tomllib
import zipfile
from pathlib import Path

from lambda_bed import (MONGO, REPO, STEPS, TDS, Bed, CountingProxy, Function, Moto, env, event,
                        start_mongo_standins, start_tds_standins)


# ----------------------------------------------------------------------------- database relay

class DbRelay:
    """A TCP relay in front of a database server that counts connections, logins and
    statements by reading the wire protocol (`pg`, `mysql`, `mongo` or `tds`) until the session
    turns to TLS (MongoDB and TDS sessions through the relay are plaintext from the start)."""

    def __init__(self, protocol, port):
        self.protocol, self.upstream = protocol, port
        self.lock = threading.Lock()
        self.counts = {"connections": 0, "logins": 0, "statements": 0}
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def take(self):
        with self.lock:
            counts = self.counts
            self.counts = {"connections": 0, "logins": 0, "statements": 0}
        return counts

    def count(self, key):
        with self.lock:
            self.counts[key] += 1

    def accept(self):
        while True:
            client, _ = self.listener.accept()
            self.count("connections")
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            session = {"tls": False, "login": False}
            threading.Thread(target=self.pump, args=(client, server, True, session), daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, False, session), daemon=True).start()

    def pump(self, source, sink, from_client, session):
        clients = {"pg": self.client_pg, "mysql": self.client_my, "mongo": self.client_mongo,
                   "tds": self.client_tds}
        reader = clients[self.protocol] if from_client else \
            (self.server_pg if self.protocol == "pg" else self.server_none)
        buffer, state = b"", {"first": True}
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                # Counted before forwarding: the count is complete when the function answers.
                if not session["tls"]:
                    buffer = reader(buffer + data, state, session)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def login(self, session):
        if not session["login"]:
            session["login"] = True
            self.count("logins")

    def client_pg(self, buffer, state, session):
        while True:
            if state["first"]:
                if len(buffer) < 8:
                    return buffer
                length = int.from_bytes(buffer[:4], "big")
                if len(buffer) < length:
                    return buffer
                code = int.from_bytes(buffer[4:8], "big")
                if code == 80877103:  # SSLRequest: the rest is TLS
                    session["tls"] = True
                    return b""
                state["first"] = False
                buffer = buffer[length:]
                continue
            if len(buffer) < 5:
                return buffer
            length = int.from_bytes(buffer[1:5], "big")
            if len(buffer) < 1 + length:
                return buffer
            if buffer[:1] in (b"Q", b"E"):  # a simple query, or the execution of a prepared one
                self.count("statements")
            buffer = buffer[1 + length:]

    def server_pg(self, buffer, state, session):
        while len(buffer) >= 5:
            length = int.from_bytes(buffer[1:5], "big")
            if len(buffer) < 1 + length:
                return buffer
            if buffer[:1] == b"R" and int.from_bytes(buffer[5:9], "big") == 0:  # AuthenticationOk
                self.login(session)
            buffer = buffer[1 + length:]
        return buffer

    def client_my(self, buffer, state, session):
        while len(buffer) >= 4:
            length = int.from_bytes(buffer[:3], "little")
            if len(buffer) < 4 + length:
                return buffer
            sequence, payload = buffer[3], buffer[4:4 + length]
            if state["first"]:
                state["first"] = False
                if length == 32:  # an SSL request: the handshake continues in TLS
                    session["tls"] = True
                    return b""
            elif sequence == 0:  # a command: authentication is over
                self.login(session)
                if payload[:1] in (b"\x03", b"\x17"):  # COM_QUERY, COM_STMT_EXECUTE
                    self.count("statements")
            buffer = buffer[4 + length:]
        return buffer

    # Commands of a MongoDB session that are not the function's own work: the handshake, SCRAM
    # and the driver's housekeeping.
    MONGO_HOUSEKEEPING = {"hello", "isMaster", "ismaster", "saslContinue", "endSessions", "buildInfo"}

    def client_mongo(self, buffer, state, session):
        while len(buffer) >= 16:
            length = int.from_bytes(buffer[:4], "little")
            if len(buffer) < length:
                return buffer
            opcode = int.from_bytes(buffer[12:16], "little")
            if opcode == 2013 and length > 26 and buffer[20] == 0:  # OP_MSG, a kind-0 body first
                key = buffer[26:buffer.index(b"\0", 26)].decode("utf-8", "replace")
                if key == "saslStart":
                    self.count("logins")
                elif key not in self.MONGO_HOUSEKEEPING:
                    self.count("statements")
            buffer = buffer[length:]
        return buffer

    # TDS packet types (MS-TDS 2.2.3.1.1): a message is one or more packets, the last with the
    # EOM bit (0x01) of its status set; its type is the first packet's.
    TDS_PRELOGIN, TDS_LOGIN7, TDS_BATCH, TDS_RPC = 0x12, 0x10, 0x01, 0x03

    def client_tds(self, buffer, state, session):
        while len(buffer) >= 8:
            length = int.from_bytes(buffer[2:4], "big")
            if length < 8:  # not TDS: stop reading this session
                session["tls"] = True
                return b""
            if len(buffer) < length:
                return buffer
            kind, status = buffer[0], buffer[1]
            if not state.get("continued"):  # the first packet of a message
                if kind == self.TDS_PRELOGIN:
                    if state.get("prelogin"):  # a second PRELOGIN carries a TLS handshake
                        session["tls"] = True
                        return b""
                    state["prelogin"] = True
                elif kind == self.TDS_LOGIN7:  # sent: an attempt, as MongoDB's saslStart
                    self.login(session)
                elif kind in (self.TDS_BATCH, self.TDS_RPC):
                    self.count("statements")
            state["continued"] = not status & 0x01
            buffer = buffer[length:]
        return buffer

    def server_none(self, buffer, state, session):
        return b""


# --------------------------------------------------------------------------------- measuring

def summary(values):
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95, "min": ordered[0], "max": ordered[-1],
            "n": len(ordered)}


def rotate(function, moto, lambda_arn, secret, proxy, relay):
    """One rotation; returns (per-step ms, full ms, SM calls by operation, database counts)."""
    token = moto.start_rotation(secret, lambda_arn)
    proxy.take()
    if relay:
        relay.take()
    steps, first = {}, None
    for step in STEPS:
        handed = time.perf_counter()
        ms, at = function.invoke(event(secret, token, step))
        first = first or handed
        steps[step] = ms
    full = (at - first) * 1000
    return steps, full, proxy.take(), (relay.take() if relay else None), token


def bench_type(kind, bundle, moto, lambda_arn, proxy, relays, rotations, spawns):
    bed = Bed(kind, moto, {family: relay.port for family, relay in relays.items()})
    relay = relays.get(bed.family)
    template = bundle / f"{kind['sar_app']}.yaml"
    bootstrap = Path(os.environ["BENCH_OUT"]) / "bootstraps" / kind["sar_app"] / "bootstrap"
    bootstrap.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(bundle / f"{kind['sar_app']}.zip") as z:
        bootstrap.write_bytes(z.read("bootstrap"))
    bootstrap.chmod(0o755)
    log = Path(os.environ["BENCH_OUT"]) / "function.log"

    def environment():
        # The template's environment with the parameters a deployer would give (the counting
        # proxy as the Secrets Manager endpoint), for the secrets made so far.
        return bed.environment(template, f"bench-{kind['name']}", proxy.endpoint, os.environ["BENCH_CA_BUNDLE"])

    result = {"type": kind["name"], "binary": bed.binary}
    size = bootstrap.stat().st_size
    result["bootstrap_mb"], result["zip_mb"] = size / 1e6, (bundle / f"{kind['sar_app']}.zip").stat().st_size / 1e6

    finished_token, finished_secret = None, None
    # Generic has no connection at all; ElastiCache's AUTH is always TLS; databases run both.
    modes = {"generic": ("plain",), "elasticache": ("tls",)}.get(bed.binary, ("plain", "tls"))
    for mode, ssl in (("plain", False), ("tls", True)):
        if mode not in modes:
            continue
        secret = bed.secret(ssl)
        function = Function(bootstrap, environment(), log)
        per_step = {s: [] for s in STEPS}
        fulls, calls, db = [], [], []
        for n in range(rotations):
            steps, full, sm, counts, token = rotate(function, moto, lambda_arn, secret, proxy, relay)
            if n == 0:
                result[f"{mode}_rss_first_kb"] = function.peak_rss_kb()
            for s, ms in steps.items():
                per_step[s].append(ms)
            fulls.append(full)
            calls.append(sm)
            db.append(counts)
        result[f"{mode}_rss_all_kb"] = function.peak_rss_kb()
        function.stop()
        result[mode] = {"steps": {s: summary(v) for s, v in per_step.items()}, "rotation": summary(fulls)}
        distinct = {json.dumps(c, sort_keys=True) for c in calls}
        result[f"{mode}_calls"] = [json.loads(c) for c in sorted(distinct)]
        if relay:
            result[f"{mode}_db"] = [json.loads(c) for c in sorted({json.dumps(d, sort_keys=True) for d in db})]
        finished_token, finished_secret = token, secret

    # Cold starts: a fresh process answers finishSecret of the finished rotation (a no-op).
    inits, firsts, colds, noop_calls = [], [], [], set()
    for _ in range(spawns):
        proxy.take()
        function = Function(bootstrap, environment(), log)
        ms, at = function.invoke(event(finished_secret, finished_token, "finishSecret"))
        inits.append((function.runtime.first_poll - function.started) * 1000)
        firsts.append(ms)
        colds.append((at - function.started) * 1000)
        function.stop()
        noop_calls.add(json.dumps(proxy.take(), sort_keys=True))
    result["init"], result["first_invocation"], result["cold_start"] = summary(inits), summary(firsts), summary(colds)
    result["noop_calls"] = [json.loads(c) for c in sorted(noop_calls)]
    return result


# ---------------------------------------------------------------------------------- reporting

def fmt(s, spread=False):
    if spread:
        return f"{s['median']:.1f} ({s['min']:.1f}-{s['max']:.1f})"
    return f"{s['median']:.1f} / {s['p95']:.1f}"


def calls_text(counts):
    if not counts:
        return "-"
    parts = []
    for c in counts:
        total = sum(c.values())
        detail = ", ".join(f"{k.replace('SecretValue', '').replace('Secret', '')} {v}" for k, v in sorted(c.items()))
        parts.append(f"**{total}** ({detail})")
    return " or ".join(parts)


def db_text(counts):
    if not counts:
        return "-"
    return " or ".join(f"{c['connections']} / {c['logins']} / {c['statements']}" for c in counts)


def report(results, args, elapsed):
    lines = [f"Benchmark run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
             f"{args.rotations} warm rotations per type and transport, {args.spawns} cold spawns per type; "
             f"{elapsed:.0f} s of measuring.", "",
             "| type | bootstrap / zip (MB) | init ms, median (min-max) | cold start to first no-op answer, ms | "
             "full rotation ms, plain TCP, median / p95 | full rotation ms, verified TLS, median / p95 | "
             "Secrets Manager calls per rotation | DB connections / logins / statements per rotation (plain) | "
             "peak RSS (MiB): init + 1 rotation / + all |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        tls = fmt(r["tls"]["rotation"]) if "tls" in r else "-"
        plain = fmt(r["plain"]["rotation"]) if "plain" in r else "-"
        calls = r["plain_calls"] if "plain" in r else r["tls_calls"]
        first = max(v for k, v in r.items() if k.endswith("_rss_first_kb") and v) / 1024
        every = max(v for k, v in r.items() if k.endswith("_rss_all_kb") and v) / 1024
        lines.append(
            f"| {r['type']} | {r['bootstrap_mb']:.2f} / {r['zip_mb']:.2f} | {fmt(r['init'], True)} | "
            f"{fmt(r['cold_start'], True)} | {plain} | {tls} | "
            f"{calls_text(calls)} | {db_text(r.get('plain_db'))} | {first:.1f} / {every:.1f} |")
    lines += ["", "Step latency, ms, median / p95 (plain TCP; verified TLS):", "",
              "| type | createSecret | setSecret | testSecret | finishSecret | first invocation of a cold process |",
              "|---|---|---|---|---|---|"]
    for r in results:
        cells = []
        for s in STEPS:
            cell = "; ".join(fmt(r[m]["steps"][s]) for m in ("plain", "tls") if m in r)
            cells.append(cell if "plain" in r else f"-; {cell}")
        lines.append(f"| {r['type']} | " + " | ".join(cells) + f" | {fmt(r['first_invocation'], True)} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rotations", type=int, default=50)
    parser.add_argument("--spawns", type=int, default=20)
    parser.add_argument("--types", default="", help="comma-separated rotation types (default: all)")
    parser.add_argument("--bundle", required=True, help="the release bundle (scripts/package.sh's output)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["BENCH_OUT"] = str(out)
    bundle = out / "ca-bundle.pem"
    bundle.write_text(Path(env("SANDBOX_PG_CA")).read_text() + Path(env("SANDBOX_MARIADB_CA")).read_text()
                      + Path(env("SANDBOX_REDIS_CA")).read_text())
    os.environ["BENCH_CA_BUNDLE"] = str(bundle)

    kinds = tomllib.loads((REPO / "packaging/rotation-types.toml").read_text())["type"]
    if args.types:
        wanted = args.types.split(",")
        kinds = [k for k in kinds if k["name"] in wanted]
    moto = Moto(env("MOTO_ENDPOINT"))
    lambda_arn = moto.rotation_lambda("bench-rotation-placeholder")
    proxy = CountingProxy(moto)
    relays = {"pg": DbRelay("pg", int(env("SANDBOX_PG_PORT"))),
              "mysql": DbRelay("mysql", int(env("SANDBOX_MARIADB_PORT")))}
    standins = []
    if any("mongo-standin" in k["sandbox"] for k in kinds):  # the registry's sandbox services
        standins = start_mongo_standins(env("BENCH_MONGO_STANDIN"))
        relays["mongo"] = DbRelay("mongo", MONGO["plain"])
    if any("tds-standin" in k["sandbox"] for k in kinds):
        standins += start_tds_standins(env("BENCH_TDS_STANDIN"))
        relays["tds"] = DbRelay("tds", TDS["plain"])
    started = time.perf_counter()
    results = []
    for kind in kinds:
        t = time.perf_counter()
        results.append(bench_type(kind, Path(args.bundle), moto, lambda_arn, proxy, relays,
                                  args.rotations, args.spawns))
        print(f"bench: {kind['name']} done in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    elapsed = time.perf_counter() - started
    for p in standins:
        p.kill()
    text = report(results, args, elapsed)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
