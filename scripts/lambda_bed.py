"""What the benchmark (bench.py) and the release smoke test (smoke.py) share: a function's
`bootstrap` run as Lambda runs it, and a test bed of users and secrets per rotation type.

- `Moto`: plain HTTP calls to the sandbox's Secrets Manager / ElastiCache / Lambda emulator,
  and `start_rotation`, which starts a rotation as RotateSecret does.
- `CountingProxy`: Secrets Manager for the function, forwarding to moto and counting calls.
- `Runtime` / `Function`: one bootstrap process under its own loopback Lambda Runtime API
  (`GET .../invocation/next`, `POST .../response` and `.../error`).
- `template_environment`: the environment variables a type's template gives its function,
  rendered by SAM's own translator and resolved with the parameters a deployer would give.
- `Bed`: a new database user (PostgreSQL, MariaDB, the MongoDB-wire stand-in, the TDS
  stand-in) or ElastiCache user and its secret, with a superuser secret for alternating users;
  `logs_in` asks an independent client (psql, the mariadb client, pymongo, pymssql, redis-cli)
  whether credentials work.

Everything talks to the sandbox on 127.0.0.1 (scripts/sandbox.sh exports its addresses).
"""
import http.client
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REGION, ACCOUNT = "us-east-1", "123456789012"
STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{Path(sys.argv[0]).name}: {name} is not set; run it through its shell script (it starts the sandbox)")
    return value


def event(secret, token, step):
    return {"Step": step, "SecretId": secret, "ClientRequestToken": token}


# ------------------------------------------------------------------------------------- moto

class Moto:
    """Plain HTTP calls to the emulator (it checks no signature; the credential scope routes)."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
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

    def value(self, secret, stage):
        """The JSON value of the version labelled `stage`, or None when no version has it."""
        try:
            return json.loads(self.sm("GetSecretValue", {"SecretId": secret, "VersionStage": stage})["SecretString"])
        except RuntimeError:
            return None

    def stages(self, secret):
        """VersionIdsToStages of the secret."""
        return self.sm("DescribeSecret", {"SecretId": secret}).get("VersionIdsToStages", {})

    def rotation_lambda(self, name="bed-rotation-placeholder"):
        """What RotateSecret needs in moto: Lambda without Docker, a placeholder function."""
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
    """Secrets Manager for the function: forwards to moto and counts calls by operation.
    `throttle` (0 to 1, default 0: off) is the share of calls answered, instead of forwarded,
    with Secrets Manager's throttling error (HTTP 400, `ThrottlingException`); those are
    counted under `Throttled:<operation>` as well as under the operation."""
    daemon_threads = True

    def __init__(self, moto, throttle=0.0, seed=None):
        self.moto, self.lock, self.counts = moto, threading.Lock(), {}
        self.throttle, self.random = throttle, random.Random(seed)
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"
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
            throttled = self.server.throttle > 0 and self.server.random.random() < self.server.throttle
            if throttled:
                key = f"Throttled:{operation}"
                self.server.counts[key] = self.server.counts.get(key, 0) + 1
        if throttled:
            self.throttled()
            return
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

    def throttled(self):
        """Secrets Manager's answer to a throttled call (awsJson1.1: the type in the body and
        in x-amzn-ErrorType)."""
        data = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-ErrorType", "ThrottlingException")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# ------------------------------------------------------------------------ Lambda Runtime API

class Runtime(ThreadingHTTPServer):
    """One function process's Runtime API: hands out queued events, collects the answers."""
    daemon_threads = True

    def __init__(self, function_arn):
        self.function_arn = function_arn
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
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", rt.function_arn)
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
        if self.path.endswith("/init/error"):
            kind = "init-error"
        else:
            kind = "ok" if self.path.endswith("/response") else "error"
        rt.answers.put((kind, at, body.decode(errors="replace")))


def lambda_environment(function_name, memory="128"):
    """The variables Lambda itself sets for a provided.al2023 function (not the template's)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023", "_HANDLER": "bootstrap",
        "LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime", "TZ": ":UTC",
        "LANG": "en_US.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "test",
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
    }


class Function:
    """A bootstrap process under its own Runtime API, started with exactly `environment` (plus
    AWS_LAMBDA_RUNTIME_API); its stdout and stderr go to `log_path`."""

    def __init__(self, bootstrap, environment, log_path):
        name = environment.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        self.runtime = Runtime(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
        environment = dict(environment, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.runtime.server_address[1]}")
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "ab")
        self.started = time.perf_counter()
        self.process = subprocess.Popen([str(bootstrap)], env=environment, stdout=self.log, stderr=self.log)

    def answer(self, event, timeout=60):
        """(kind, latency ms, answered at, body): kind is ok, error, init-error, exited or
        timeout."""
        self.runtime.events.put(event)
        deadline = time.perf_counter() + timeout
        while True:
            try:
                kind, at, body = self.runtime.answers.get(timeout=0.05)
                return kind, (at - (self.runtime.handed or at)) * 1000, at, body
            except queue.Empty:
                if self.process.poll() is not None:
                    return "exited", 0.0, time.perf_counter(), f"exit status {self.process.returncode}"
                if time.perf_counter() > deadline:
                    return "timeout", 0.0, time.perf_counter(), f"no answer in {timeout} s"

    def invoke(self, event):
        """Returns (latency ms, answered at) of one invocation; any failure raises."""
        kind, ms, at, body = self.answer(event)
        if kind != "ok":
            raise RuntimeError(f"{event['Step']}: {kind}: {body[:500]} (see {self.log_path})")
        return ms, at

    def peak_rss_kb(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.runtime.shutdown()
        self.runtime.server_close()
        self.log.close()


# --------------------------------------------------------------------- the template's environment

def template_environment(template_path, params):
    """The function's environment variables as the template sets them with `params` (SAM's own
    translator merges Globals; every intrinsic function is resolved). Only the parameters the
    template declares are passed; a variable that does not resolve to a string is an error."""
    sys.path.insert(0, str(REPO / "scripts"))
    from render_test import render, resolver
    from cfnlint.decode import cfn_yaml

    declared = cfn_yaml.load(str(template_path)).get("Parameters", {})
    given = {k: v for k, v in params.items() if k in declared}
    rendered = render(Path(template_path), given)
    value, condition = resolver(rendered, given)
    functions = [r for r in rendered["Resources"].values()
                 if r["Type"] == "AWS::Lambda::Function" and ("Condition" not in r or condition(r["Condition"]))]
    if len(functions) != 1:
        raise RuntimeError(f"{template_path}: {len(functions)} functions with {given}")
    variables = value(functions[0]["Properties"].get("Environment", {}).get("Variables", {}))
    bad = {k: v for k, v in variables.items() if not isinstance(v, str)}
    if bad:
        raise RuntimeError(f"{template_path}: variables that do not resolve to a string: {bad}")
    return variables


# -------------------------------------------------------------------------------- the beds

# The MongoDB-wire stand-ins (filled in by start_mongo_standins).
MONGO = {}


def start_mongo_standins(binary):
    """Starts the stand-in twice (DocumentDB personality; TLS, and plaintext); returns their
    processes after recording the ports and the superuser password in MONGO."""
    MONGO["root_password"] = f"Root-{uuid.uuid4().hex}"
    processes = []
    for mode, extra in (("tls", []), ("plain", ["--plaintext"])):
        p = subprocess.Popen([binary, "documentdb", MONGO["root_password"], *extra],
                             stdout=subprocess.PIPE, text=True)
        MONGO[mode] = int(p.stdout.readline())
        processes.append(p)
    return processes


def pymongo(script, *args, password):
    """Runs a pymongo `script` (the sandbox's venv) with `args`; the password goes through the
    environment, never the command line."""
    return subprocess.run([env("SANDBOX_PYMONGO"), "-c", script, *map(str, args)],
                          env=dict(os.environ, BED_PASSWORD=password), capture_output=True, text=True)


MONGO_CLIENT = ("import json, os, sys\nfrom pymongo import MongoClient\n"
                "def client(port, tls, user, source):\n"
                "    return MongoClient(host='127.0.0.1', port=int(port), directConnection=True, tls=tls == 'true',"
                " tlsCAFile=os.environ['SANDBOX_TLS_CA'] if tls == 'true' else None, username=user,"
                " password=os.environ['BED_PASSWORD'], authSource=source, retryWrites=False,"
                " serverSelectionTimeoutMS=3000)\n")


def mongo_create_user(port, tls, user, password, roles):
    """createUser on a stand-in, as its superuser, with pymongo (an independent client)."""
    script = MONGO_CLIENT + ("port, tls, user, roles = sys.argv[1:]\n"
                             "root_password = os.environ['BED_PASSWORD']\n"
                             "c = client(port, tls, 'root', 'admin')\n"
                             # The manual's recipe for changing one's own password: a role in
                             # admin granting the changeOwnPassword action (made once).
                             "if any(r['role'] == 'changeOwnPasswordRole' for r in json.loads(roles)) and not"
                             " c.admin.command('rolesInfo', 'changeOwnPasswordRole')['roles']:\n"
                             "    c.admin.command('createRole', 'changeOwnPasswordRole', roles=[], privileges=[{'resource':"
                             " {'db': '', 'collection': ''}, 'actions': ['changeOwnPassword']}])\n"
                             "c.admin.command('createUser', user, pwd=os.environ['BED_NEW_PASSWORD'], roles=json.loads(roles))\n")
    done = subprocess.run([env("SANDBOX_PYMONGO"), "-c", script, str(port), "true" if tls else "false", user,
                           json.dumps(roles)],
                          env=dict(os.environ, BED_PASSWORD=MONGO["root_password"], BED_NEW_PASSWORD=password),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"createUser {user} failed: {done.stderr[-500:]}")


# The TDS (SQL Server wire) stand-ins (filled in by start_tds_standins).
TDS = {}


def start_tds_standins(binary):
    """Starts the TDS stand-in twice, each with an RDS-like master login `admin`: encryption
    forced (as `rds.force_ssl` = 1) with the sandbox certificate, and no certificate at all
    (NOT_SUP, for plain TCP secrets); returns their processes after recording the ports and the
    master password in TDS."""
    TDS["master_password"] = f"Master-{uuid.uuid4().hex}"
    login = f"admin:master:{TDS['master_password']}"
    processes = []
    for mode, encryption in (("tls", ["--encryption", "on", "--cert", env("SANDBOX_TLS_CERT"),
                                      "--key", env("SANDBOX_TLS_KEY")]),
                             ("plain", ["--encryption", "not-sup"])):
        p = subprocess.Popen([binary, *encryption, "--login", login], stdout=subprocess.PIPE, text=True)
        TDS[mode] = int(p.stdout.readline())
        processes.append(p)
    return processes


# pymssql (FreeTDS inside its wheel; the sandbox's TDS venv): `client(port, tls, user, database)`
# logs in with the password in BED_PASSWORD. FreeTDS takes its encryption from a configuration
# file (pymssql's `encryption=` keyword does not reach the PRELOGIN): `require` with the sandbox
# CA verifies the certificate for 127.0.0.1; `off` asks for no TLS at all. Autocommit: pymssql
# would otherwise open a transaction, which the stand-in does not model.
TDS_CLIENT = r"""import atexit, os, shutil, sys, tempfile
def client(port, tls, user, database):
    conf = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, conf)
    with open(os.path.join(conf, 'freetds.conf'), 'w') as f:
        f.write('[global]\n\tencryption = '
                + ('require\n\tca file = ' + os.environ['SANDBOX_TLS_CA'] if tls == 'true' else 'off') + '\n')
    os.environ['FREETDSCONF'] = os.path.join(conf, 'freetds.conf')
    import pymssql
    return pymssql.connect(server='127.0.0.1', port=int(port), user=user, password=os.environ['BED_PASSWORD'],
                           database=database, autocommit=True, login_timeout=5, timeout=10)
"""


def pymssql(script, *args, password, **extra):
    """Runs a pymssql `script` (the sandbox's TDS venv) with `args`; passwords go through the
    environment, never the command line."""
    return subprocess.run([env("SANDBOX_TDS_PYTHON"), "-c", TDS_CLIENT + script, *map(str, args)],
                          env=dict(os.environ, BED_PASSWORD=password, **extra), capture_output=True, text=True)


def tds_create_login(port, tls, user, password):
    """CREATE LOGIN on a stand-in, as its master user, with pymssql (an independent client):
    the name quoted by the server's QUOTENAME, the password a literal (pymssql quotes it)."""
    done = pymssql("port, tls, user = sys.argv[1:]\n"
                   "c = client(port, tls, 'admin', 'master')\n"
                   "cur = c.cursor()\n"
                   "cur.execute('SELECT QUOTENAME(%s)', (user,))\n"
                   "cur.execute('CREATE LOGIN ' + cur.fetchone()[0] + ' WITH PASSWORD = %s', (os.environ['BED_NEW_PASSWORD'],))\n",
                   port, "true" if tls else "false", user, password=TDS["master_password"], BED_NEW_PASSWORD=password)
    if done.returncode != 0:
        raise RuntimeError(f"CREATE LOGIN {user} failed: {done.stderr[-500:]}")


def psql(database, *statements):
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", env("SANDBOX_PG_PORT"), "-U", "postgres",
                    "-d", database, "-v", "ON_ERROR_STOP=1", "-Atq"] + [a for s in statements for a in ("-c", s)],
                   env=dict(os.environ, PGPASSWORD=env("SANDBOX_PG_PASSWORD")), check=True,
                   stdout=subprocess.DEVNULL)


def mariadb(sql):
    subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", env("SANDBOX_MARIADB_PORT"),
                    "-uroot", "-e", sql], env=dict(os.environ, MYSQL_PWD=env("SANDBOX_MARIADB_PASSWORD")),
                   check=True)


class Bed:
    """Users and secrets for one rotation type (a row of packaging/rotation-types.toml):
    `engine` names what the secret says. `ports` maps a protocol family (pg, mysql, mongo, tds) to
    the port secrets name for plain TCP (the server's, or a relay's in front of it); TLS
    secrets name the server itself."""

    ENGINES = {"generic": None, "postgresql": "postgres", "redshift": "redshift",
               "mysql": "mysql", "mariadb": "mariadb", "elasticache": None, "mongodb": "docdb",
               "sqlserver": "sqlserver"}

    def __init__(self, kind, moto, ports=None):
        self.kind, self.binary, self.strategy = kind["name"], kind["binary"], kind["strategy"]
        self.type = kind
        self.engine = self.ENGINES[self.binary]
        self.moto = moto
        self.family = {"postgresql": "pg", "redshift": "pg", "mysql": "mysql", "mariadb": "mysql",
                       "mongodb": "mongo", "sqlserver": "tds"}.get(self.binary)
        self.ports = ports or {}
        self.secrets = {}  # ARN -> {"master": ARN or None, "user_arn": ARN or None}

    def server_port(self, ssl):
        if self.family == "pg":
            return int(env("SANDBOX_PG_PORT")) if ssl or "pg" not in self.ports else self.ports["pg"]
        if self.family == "mysql":
            return int(env("SANDBOX_MARIADB_PORT")) if ssl or "mysql" not in self.ports else self.ports["mysql"]
        if self.family == "mongo":
            return MONGO["tls"] if ssl else self.ports.get("mongo", MONGO["plain"])
        if self.family == "tds":
            return TDS["tls"] if ssl else self.ports.get("tds", TDS["plain"])
        return None

    def secret(self, ssl):
        """A new user on the server and its secret (with a superuser secret for alternating
        users); returns the secret's ARN."""
        suffix = uuid.uuid4().hex[:10]
        user, password = f"bed_{suffix}", f"Bed-{uuid.uuid4().hex}"
        name = f"bed/{self.kind}/{suffix}"
        if self.binary == "elasticache":
            # A user on moto's ElastiCache; the secret names the sandbox Redis, so testSecret
            # and finishSecret prove the password with AUTH over verified TLS.
            user_arn = self.moto.cache_user(user, password)
            value = {"user_arn": user_arn, "username": user,
                     "password": password, "host": "127.0.0.1", "port": int(env("SANDBOX_REDIS_TLS_PORT")),
                     "tlsServerName": "db.rotation.test"}
            arn = self.moto.sm("CreateSecret", {"Name": name, "SecretString": json.dumps(value)})["ARN"]
            self.secrets[arn] = {"master": None, "user_arn": user_arn}
            return arn
        if self.engine is None:
            value = {"username": user, "password": password, "port": 8443}
            arn = self.moto.sm("CreateSecret", {"Name": name, "SecretString": json.dumps(value)})["ARN"]
            self.secrets[arn] = {"master": None, "user_arn": None}
            return arn
        port = self.server_port(ssl)
        value = {"engine": self.engine, "host": "127.0.0.1", "port": port, "username": user,
                 "password": password, "ssl": ssl}
        master = None
        if self.family == "mongo":
            value["dbname"] = "admin"
            mongo_create_user(port, ssl, user, password, [{"role": "readWrite", "db": "admin"}]
                              + ([{"role": "changeOwnPasswordRole", "db": "admin"}] if self.strategy == "single" else []))
            master = {"username": "root", "password": MONGO["root_password"]}
        elif self.family == "tds":
            value["dbname"] = "master"
            tds_create_login(port, ssl, user, password)
            master = {"username": "admin", "password": TDS["master_password"]}
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
        master_arn = None
        if self.strategy == "alternating":
            master_value = dict(value, **master)
            master_value.pop("dbname", None)  # the superuser logs in to the user's database
            master_arn = self.moto.sm("CreateSecret", {
                "Name": f"{name}-master", "SecretString": json.dumps(master_value)})["ARN"]
            value["masterarn"] = master_arn
        arn = self.moto.sm("CreateSecret", {"Name": name, "SecretString": json.dumps(value)})["ARN"]
        self.secrets[arn] = {"master": master_arn, "user_arn": None}
        return arn

    def parameters(self, function_name, endpoint, ca_bundle):
        """The template parameters a deployer would give for this bed's secrets: the Secrets
        Manager endpoint, the sandbox CAs, the superuser secrets, the ElastiCache users, the RDS
        API (moto) for the types that use it. template_environment keeps those the template
        declares."""
        masters = [s["master"] for s in self.secrets.values() if s["master"]]
        users = [s["user_arn"] for s in self.secrets.values() if s["user_arn"]]
        params = {"functionName": function_name, "endpoint": endpoint, "extraCaCertificates": ca_bundle,
                  "rdsEndpoint": env("MOTO_ENDPOINT")}
        if masters:
            params["masterSecretArn"] = masters[0]
            if len(masters) > 1:
                params["additionalMasterSecretArns"] = ",".join(masters[1:])
        if users:
            params["elastiCacheUserArns"] = ",".join(users)
            # moto keeps a modified user "modifying" for 0.3 s: testSecret's wait for "active"
            # is one interval (1 s, the shortest the variable takes).
            params["waitingRetryIntervalInSeconds"] = "1"
        return params

    def environment(self, template_path, function_name, endpoint, ca_bundle):
        """Exactly what the function gets on Lambda: Lambda's own variables, then the template's
        (resolved with this bed's parameters), then the sandbox's redirects: the ElastiCache API
        to moto (the templates have no parameter for it), and every other HTTPS request to a
        dead loopback port, so none can leave the machine."""
        e = lambda_environment(function_name)
        e.update(template_environment(template_path, self.parameters(function_name, endpoint, ca_bundle)))
        e.update({"AWS_EC2_METADATA_DISABLED": "true", "HTTPS_PROXY": "http://127.0.0.1:9",
                  "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost"})
        if self.binary == "elasticache":
            e["AWS_ENDPOINT_URL_ELASTICACHE"] = env("MOTO_ENDPOINT")
        return e

    def logs_in(self, value):
        """Whether the credentials in `value` (a secret's JSON) log in, asked of an independent
        client: psql, the mariadb client, pymongo, pymssql or redis-cli (AUTH over TLS). Generic:
        always (no service)."""
        user, password = value["username"], value["password"]
        if self.binary == "elasticache":
            done = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(value["port"]), "--tls",
                                   "--cacert", env("SANDBOX_REDIS_CA"), "--sni", value["tlsServerName"],
                                   "--user", user, "--no-auth-warning", "PING"],
                                  env=dict(os.environ, REDISCLI_AUTH=password), capture_output=True, text=True)
            return done.returncode == 0 and done.stdout.strip() == "PONG"
        if self.engine is None:
            return True
        port, ssl = value["port"], value.get("ssl") is True
        if self.family == "pg":
            mode = "verify-full" if ssl else "disable"
            done = subprocess.run(["psql", f"host=127.0.0.1 port={port} user={user} dbname={value['dbname']} "
                                   f"sslmode={mode} sslrootcert={env('SANDBOX_PG_CA')}", "-Atqc", "SELECT 1"],
                                  env=dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5"),
                                  capture_output=True, text=True)
            return done.returncode == 0 and done.stdout.strip() == "1"
        if self.family == "mysql":
            tls = ["--ssl", f"--ssl-ca={env('SANDBOX_MARIADB_CA')}", "--ssl-verify-server-cert"] if ssl else ["--skip-ssl"]
            done = subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(port), "-u", user,
                                   "--connect-timeout=5", *tls, "-Nse", "SELECT 1"],
                                  env=dict(os.environ, MYSQL_PWD=password), capture_output=True, text=True)
            return done.returncode == 0 and done.stdout.strip() == "1"
        if self.family == "tds":
            done = pymssql("port, tls, user, database = sys.argv[1:]\n"
                           "cur = client(port, tls, user, database).cursor()\n"
                           "cur.execute('SELECT SUSER_SNAME()')\n"
                           "print(cur.fetchone()[0])\n",
                           port, "true" if ssl else "false", user, value.get("dbname", "master"), password=password)
            return done.returncode == 0 and done.stdout.strip() == user
        script = MONGO_CLIENT + ("port, tls, user, source = sys.argv[1:]\n"
                                 "client(port, tls, user, source).admin.command('ping')\n")
        return pymongo(script, port, "true" if ssl else "false", user, value.get("dbname", "admin"),
                       password=password).returncode == 0
