"""The benchmark: every rotation type's release `bootstrap`, driven through a loopback Lambda
Runtime API as Lambda drives it, against the sandbox (moto, PostgreSQL, MariaDB, Redis) and,
for the DocumentDB / MongoDB types, the testkit's MongoDB-wire stand-in in its DocumentDB 4.0
personality (`BENCH_MONGO_STANDIN`: two processes, one serving TLS and one plaintext; users
created with pymongo, `SANDBOX_PYMONGO`).

Run it with scripts/bench.sh, which starts a sandbox, builds the bootstraps as `sam build`
does and calls this with the sandbox environment set. For each rotation type it measures:

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
- size and memory: `bootstrap` size, its zip (deflate -9), peak RSS (VmHWM) of the warm
  process after init and all its rotations.

Every invocation must succeed; anything else stops the benchmark. Writes a Markdown table and
the raw figures (JSON) to `--out`.
"""
import argparse
import urllib.parse
import http.client
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time
import tomllib
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REGION, ACCOUNT = "us-east-1", "123456789012"
STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"bench: {name} is not set; run scripts/bench.sh (it starts the sandbox)")
    return value


# ------------------------------------------------------------------------------------- moto

class Moto:
    """Plain HTTP calls to the emulator (it checks no signature; the credential scope routes)."""

    def __init__(self, endpoint):
        self.host, self.port = endpoint.removeprefix("http://").split(":")

    def request(self, method, path, service, content_type, body, target=None):
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
        headers = {
            "Content-Type": content_type,
            "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0",
        }
        if target:
            headers["X-Amz-Target"] = target
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read().decode()
        conn.close()
        return response.status, data

    def sm(self, operation, body):
        status, data = self.request("POST", "/", "secretsmanager", "application/x-amz-json-1.1",
                                    json.dumps(body), target=f"secretsmanager.{operation}")
        if status != 200:
            raise RuntimeError(f"{operation}: HTTP {status}: {data[:300]}")
        return json.loads(data)

    def rotation_lambda(self):
        """What RotateSecret needs in moto: Lambda without Docker, a placeholder function."""
        name = "bench-rotation-placeholder"
        self.request("POST", "/moto-api/config", "lambda", "application/json",
                     json.dumps({"lambda": {"use_docker": False}}))
        role = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        self.request("POST", "/", "iam", "application/x-www-form-urlencoded",
                     f"Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument=%7B%7D")
        status, data = self.request("POST", "/2015-03-31/functions", "lambda", "application/json", json.dumps({
            "FunctionName": name, "Runtime": "provided.al2023", "Role": role, "Handler": "bootstrap",
            "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}))
        if status not in (200, 201) and "ResourceConflictException" not in data:
            raise RuntimeError(f"moto refused the placeholder Lambda: {data[:300]}")
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"

    def cache_user(self, name, password):
        """An ElastiCache user (the sandbox's moto mirrors it into its Redis); returns its ARN."""
        body = urllib.parse.urlencode({
            "Action": "CreateUser", "Version": "2015-02-02", "UserId": f"u-{name.replace('_', '-')}",
            "UserName": name, "Engine": "redis", "Passwords.member.1": password,
            "AccessString": "on ~* +@all"})
        status, data = self.request("POST", "/", "elasticache", "application/x-www-form-urlencoded", body)
        if status != 200:
            raise RuntimeError(f"CreateUser: HTTP {status}: {data[:300]}")
        return data.split("<ARN>", 1)[1].split("</ARN>", 1)[0]

    def start_rotation(self, secret, lambda_arn):
        """RotateSecret as the service starts a rotation: a new AWSPENDING version, no value."""
        token = str(uuid.uuid4())
        self.sm("RotateSecret", {"SecretId": secret, "ClientRequestToken": token,
                                 "RotationLambdaARN": lambda_arn,
                                 "RotationRules": {"AutomaticallyAfterDays": 30}})
        return token


class CountingProxy(ThreadingHTTPServer):
    """Secrets Manager for the function: forwards to moto and counts calls by operation."""
    daemon_threads = True

    def __init__(self, moto):
        self.moto, self.lock, self.counts = moto, threading.Lock(), {}
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def take(self):
        with self.lock:
            counts, self.counts = self.counts, {}
        return counts

    def handle_error(self, request, client_address):
        pass  # a function process killed mid-request


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add about 40 ms to every answer.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        operation = self.headers.get("X-Amz-Target", "?").split(".")[-1]
        with self.server.lock:
            self.server.counts[operation] = self.server.counts.get(operation, 0) + 1
        upstream = http.client.HTTPConnection(self.server.moto.host, int(self.server.moto.port), timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request("POST", self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# ----------------------------------------------------------------------------- database relay

class DbRelay:
    """A TCP relay in front of a database server that counts connections, logins and
    statements by reading the wire protocol (`pg`, `mysql` or `mongo`) until the session turns
    to TLS (MongoDB sessions through the relay are plaintext from the start)."""

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
        clients = {"pg": self.client_pg, "mysql": self.client_my, "mongo": self.client_mongo}
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

    def server_none(self, buffer, state, session):
        return b""


# ------------------------------------------------------------------------ Lambda Runtime API

class Runtime(ThreadingHTTPServer):
    """One function process's Runtime API: hands out queued events, collects the answers."""
    daemon_threads = True

    def __init__(self):
        self.events, self.answers = queue.Queue(), queue.Queue()
        self.first_poll, self.handed = None, None
        super().__init__(("127.0.0.1", 0), RuntimeHandler)
        threading.Thread(target=self.serve_forever, args=(0.01,), daemon=True).start()

    def handle_error(self, request, client_address):
        pass  # the process was stopped while it polled for the next event


class RuntimeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        rt = self.server
        if not self.path.endswith("/invocation/next"):
            self.send_error(404)
            return
        if rt.first_poll is None:
            rt.first_poll = time.perf_counter()
        event = rt.events.get()
        body = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        rt.handed = time.perf_counter()
        self.wfile.write(body)

    def do_POST(self):
        rt = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        at = time.perf_counter()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        kind = "ok" if self.path.endswith("/response") else "error"
        rt.answers.put((kind, at, body.decode(errors="replace")))


class Function:
    """A bootstrap process under its own Runtime API."""

    def __init__(self, bootstrap, environment):
        self.runtime = Runtime()
        environment = dict(environment, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.runtime.server_address[1]}")
        self.log = open(Path(os.environ["BENCH_OUT"]) / "function.log", "ab")
        self.started = time.perf_counter()
        self.process = subprocess.Popen([bootstrap], env=environment, stdout=self.log, stderr=self.log)

    def invoke(self, event):
        """Returns the latency (ms) of one invocation; any failure stops the benchmark."""
        self.runtime.events.put(event)
        try:
            kind, at, body = self.runtime.answers.get(timeout=60)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"no answer to {event['Step']}; see {self.log.name}")
        if kind != "ok":
            raise RuntimeError(f"{event['Step']} failed: {body}")
        return (at - self.runtime.handed) * 1000, at

    def peak_rss_kb(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.runtime.shutdown()
        self.runtime.server_close()
        self.log.close()


# -------------------------------------------------------------------------------- the beds

# The MongoDB-wire stand-ins (filled in by main() when a MongoDB type is measured).
MONGO = {}


def start_mongo_standins():
    """Starts the stand-in twice (DocumentDB personality; TLS, and plaintext); returns their
    processes after recording the ports and the superuser password in MONGO."""
    MONGO["root_password"] = f"Root-{uuid.uuid4().hex}"
    processes = []
    for mode, extra in (("tls", []), ("plain", ["--plaintext"])):
        p = subprocess.Popen([env("BENCH_MONGO_STANDIN"), "documentdb", MONGO["root_password"], *extra],
                             stdout=subprocess.PIPE, text=True)
        MONGO[mode] = int(p.stdout.readline())
        processes.append(p)
    return processes


def mongo_create_user(port, tls, user, password, roles):
    """createUser on a stand-in, as its superuser, with pymongo (an independent client)."""
    script = ("import json, sys\nfrom pymongo import MongoClient\n"
              "port, tls, user, password, roles, root = sys.argv[1:]\n"
              "c = MongoClient(host='127.0.0.1', port=int(port), directConnection=True, tls=tls == 'true',"
              " tlsCAFile=%r if tls == 'true' else None, username='root', password=root, authSource='admin',"
              " retryWrites=False, serverSelectionTimeoutMS=3000)\n"
              "c.admin.command('createUser', user, pwd=password, roles=json.loads(roles))\n") % env("SANDBOX_TLS_CA")
    subprocess.run([env("SANDBOX_PYMONGO"), "-c", script, str(port), "true" if tls else "false", user, password,
                    json.dumps(roles), MONGO["root_password"]], check=True)


def psql(database, *statements):
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", env("SANDBOX_PG_PORT"), "-U", "postgres",
                    "-d", database, "-v", "ON_ERROR_STOP=1", "-Atq"] + [a for s in statements for a in ("-c", s)],
                   env=dict(os.environ, PGPASSWORD=env("SANDBOX_PG_PASSWORD")), check=True,
                   stdout=subprocess.DEVNULL)


def mariadb(sql):
    subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", env("SANDBOX_MARIADB_PORT"),
                    "-uroot", f"-p{env('SANDBOX_MARIADB_PASSWORD')}", "-e", sql], check=True)


class Bed:
    """Users and secrets for one rotation type: `engine` names what the secret says."""

    ENGINES = {"generic": None, "postgresql": "postgres", "redshift": "redshift",
               "mysql": "mysql", "mariadb": "mariadb", "elasticache": None, "mongodb": "docdb"}

    def __init__(self, kind, moto, relays):
        self.kind, self.binary, self.strategy = kind["name"], kind["binary"], kind["strategy"]
        self.engine = self.ENGINES[self.binary]
        self.moto, self.relays = moto, relays
        self.family = {"postgresql": "pg", "redshift": "pg", "mysql": "mysql", "mariadb": "mysql",
                       "mongodb": "mongo"}.get(self.binary)

    def secret(self, ssl):
        """A new user on the server and its secret (with a superuser secret for alternating
        users); returns the secret's ARN."""
        suffix = uuid.uuid4().hex[:10]
        user, password = f"bench_{suffix}", f"Bench-{uuid.uuid4().hex}"
        if self.binary == "elasticache":
            # A user on moto's ElastiCache; the secret names the sandbox Redis, so testSecret
            # and finishSecret prove the password with AUTH over verified TLS.
            value = {"user_arn": self.moto.cache_user(user, password), "username": user,
                     "password": password, "host": "127.0.0.1", "port": int(env("SANDBOX_REDIS_TLS_PORT")),
                     "tlsServerName": "db.rotation.test"}
            return self.moto.sm("CreateSecret", {"Name": f"bench/{self.kind}/{suffix}",
                                                 "SecretString": json.dumps(value)})["ARN"]
        if self.engine is None:
            value = {"username": user, "password": password, "port": 8443}
            return self.moto.sm("CreateSecret", {"Name": f"bench/{self.kind}/{suffix}",
                                                 "SecretString": json.dumps(value)})["ARN"]
        port = self.relays[self.family].port
        value = {"engine": self.engine, "host": "127.0.0.1", "port": port, "username": user,
                 "password": password, "ssl": ssl}
        master = None
        if self.family == "mongo":
            # Plain TCP through the relay to the plaintext stand-in; TLS straight to the other.
            port = port if not ssl else MONGO["tls"]
            value.update(port=port, dbname="admin")
            mongo_create_user(port, ssl, user, password, [{"role": "readWrite", "db": "admin"}]
                              + ([{"role": "changeOwnPassword", "db": "admin"}] if self.strategy == "single" else []))
            master = {"username": "root", "password": MONGO["root_password"]}
        elif self.family == "pg":
            database = "dev" if self.engine == "redshift" else "postgres"
            value["dbname"] = database
            encryption = "md5" if self.engine == "redshift" else "scram-sha-256"
            psql(database, f"SET password_encryption = '{encryption}'",
                 f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
            master = {"username": "postgres", "password": env("SANDBOX_PG_PASSWORD")}
        else:
            mariadb(f"CREATE USER {user}@'%' IDENTIFIED BY '{password}'; "
                    f"GRANT SELECT ON mysql.db TO {user}@'%';")
            if self.strategy == "alternating":
                admin = f"{user}_admin"
                mariadb(f"CREATE USER {admin}@'%' IDENTIFIED BY '{password}'; "
                        f"GRANT ALL PRIVILEGES ON *.* TO {admin}@'%' WITH GRANT OPTION;")
                master = {"username": admin, "password": password}
        if self.strategy == "alternating":
            master_value = dict(value, **master)
            master_value.pop("dbname", None)  # the superuser logs in to the user's database
            value["masterarn"] = self.moto.sm("CreateSecret", {
                "Name": f"bench/{self.kind}/{suffix}-master", "SecretString": json.dumps(master_value)})["ARN"]
        return self.moto.sm("CreateSecret", {"Name": f"bench/{self.kind}/{suffix}",
                                             "SecretString": json.dumps(value)})["ARN"]

    def environment(self, proxy):
        e = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "MOTO_"))}
        e.update({
            "AWS_LAMBDA_FUNCTION_NAME": f"bench-{self.kind}", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
            "SECRETS_MANAGER_ENDPOINT": f"http://127.0.0.1:{proxy.server_address[1]}",
        })
        if self.strategy:
            e["ROTATION_STRATEGY"] = self.strategy
        if self.family or self.binary == "elasticache":
            e["EXTRA_CA_CERTS"] = os.environ["BENCH_CA_BUNDLE"]
        if self.binary == "elasticache":
            # The ElastiCache API straight to moto (not counted: these are not Secrets Manager
            # calls); moto keeps a modified user "modifying" for 0.3 s, so testSecret's wait
            # for "active" is one interval (1 s, the shortest the variable takes).
            e["AWS_ENDPOINT_URL_ELASTICACHE"] = os.environ["MOTO_ENDPOINT"]
            e["WAITING_RETRY_INTERVAL_IN_SECONDS"] = "1"
        return e


# --------------------------------------------------------------------------------- measuring

def event(secret, token, step):
    return {"Step": step, "SecretId": secret, "ClientRequestToken": token}


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


def bench_type(kind, bootstrap, moto, lambda_arn, proxy, relays, rotations, spawns):
    bed = Bed(kind, moto, relays)
    relay = relays.get(bed.family)
    environment = bed.environment(proxy)
    result = {"type": kind["name"], "binary": bed.binary}
    size = Path(bootstrap).stat().st_size
    archive = Path(os.environ["BENCH_OUT"]) / f"{bed.binary}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(bootstrap, "bootstrap")
    result["bootstrap_mb"], result["zip_mb"] = size / 1e6, archive.stat().st_size / 1e6

    finished_token, finished_secret = None, None
    # Generic has no connection at all; ElastiCache's AUTH is always TLS; databases run both.
    modes = {"generic": ("plain",), "elasticache": ("tls",)}.get(bed.binary, ("plain", "tls"))
    for mode, ssl in (("plain", False), ("tls", True)):
        if mode not in modes:
            continue
        secret = bed.secret(ssl)
        function = Function(bootstrap, environment)
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
        function = Function(bootstrap, environment)
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
    parser.add_argument("--bootstraps", required=True, help="directory holding <binary>/bootstrap")
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
    lambda_arn = moto.rotation_lambda()
    proxy = CountingProxy(moto)
    relays = {"pg": DbRelay("pg", int(env("SANDBOX_PG_PORT"))),
              "mysql": DbRelay("mysql", int(env("SANDBOX_MARIADB_PORT")))}
    standins = []
    if any(k["binary"] == "mongodb" for k in kinds):
        standins = start_mongo_standins()
        relays["mongo"] = DbRelay("mongo", MONGO["plain"])
    started = time.perf_counter()
    results = []
    for kind in kinds:
        bootstrap = Path(args.bootstraps) / kind["binary"] / "bootstrap"
        t = time.perf_counter()
        results.append(bench_type(kind, str(bootstrap), moto, lambda_arn, proxy, relays,
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
