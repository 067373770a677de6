#!/usr/bin/env bash
# The README's main job: bring up the sandbox, create demo secrets in the Secrets Manager
# emulator (a JSON secret, PostgreSQL and Redshift-style secrets for users of the sandbox
# PostgreSQL, MariaDB secrets for users of the sandbox MariaDB, an ElastiCache user on moto
# mirrored into the sandbox Redis, DocumentDB-style secrets for users of the testkit's
# MongoDB-wire stand-in in its DocumentDB 4.0 personality, SQL Server secrets for logins of the
# testkit's TDS stand-in), start each rotation as RotateSecret does, rotate it by invoking the function with
# `cargo lambda invoke` and the sample events in events/, and print the version/label table
# before and after (and, for databases, which credentials log in). Cleans up on exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

use_tools
export ROTATION_SANDBOX_DIR="$REPO_ROOT/.sandbox/demo"
WATCH_PID=""
MONGO_PID=""
TDS_PID=""
stop_watch() {
  if [ -n "$WATCH_PID" ]; then kill -- "-$WATCH_PID" 2>/dev/null || kill "$WATCH_PID" 2>/dev/null || true; fi
  WATCH_PID=""
}
cleanup() {
  stop_watch
  if [ -n "$MONGO_PID" ]; then kill "$MONGO_PID" 2>/dev/null || true; fi
  if [ -n "$TDS_PID" ]; then kill "$TDS_PID" 2>/dev/null || true; fi
  "$REPO_ROOT/scripts/sandbox.sh" stop
}
trap cleanup EXIT
"$REPO_ROOT/scripts/sandbox.sh" start
# shellcheck disable=SC1091
source "$ROTATION_SANDBOX_DIR/env"

log "building the demo helper and the functions"
# Two builds: given as `rotation-testkit/<feature>` beside the other packages, the features did
# not reach the testkit's binaries (cargo reported their required features missing).
cargo build -q --locked -p rotation-testkit --features postgres,mysql,mongo,tds \
  --bin sandbox-secrets --bin mongo-standin --bin tds-standin
cargo build -q --locked -p rotation-generic -p rotation-postgresql -p rotation-mysql -p rotation-elasticache \
  -p rotation-mongodb -p rotation-sqlserver
secrets() { "$REPO_ROOT/target/debug/sandbox-secrets" "$@"; }
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# Starts `cargo lambda watch` with ROTATION_STRATEGY=$1 (the template sets it per function),
# the superuser secrets the multi-user functions may use (MASTER_SECRET_ARNS: the templates'
# masterSecretArn and additionalMasterSecretArns) and the ElastiCache user the function may
# change (ELASTICACHE_USER_ARNS: elastiCacheUserArns), as a deployment gives them. An env file:
# the lists hold commas, which --env-var would split.
PORT=""
start_watch() {
  stop_watch
  PORT=$(free_port)
  cat >"$ROTATION_SANDBOX_DIR/watch.env" <<ENV
SECRETS_MANAGER_ENDPOINT=$MOTO_ENDPOINT
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_REGION=us-east-1
AWS_EC2_METADATA_DISABLED=true
EXTRA_CA_CERTS=$CA_BUNDLE
AWS_ENDPOINT_URL_ELASTICACHE=$MOTO_ENDPOINT
ROTATION_STRATEGY=$1
MASTER_SECRET_ARNS=$POSTGRES_MASTER_ARN,$REDSHIFT_MASTER_ARN,$MARIADB_MASTER_ARN,$MYSQL_MASTER_ARN,$DOCUMENTDB_MASTER_ARN,$SQLSERVER_MASTER_ARN
ELASTICACHE_USER_ARNS=$USER_ARN
ENV
  set -m
  cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$PORT" --env-file "$ROTATION_SANDBOX_DIR/watch.env" \
    >>"$ROTATION_SANDBOX_DIR/watch.log" 2>&1 &
  WATCH_PID=$!
  set +m
  wait_port "$PORT" 120 || { cat "$ROTATION_SANDBOX_DIR/watch.log"; die "cargo lambda watch did not start"; }
}

# rotate BINARY EVENTS_DIR SECRET_JSON [db]: create the secret named in the events, rotate it.
rotate() {
  local binary=$1 events=$2 json=$3 db=${4:-}
  local secret token; secret=$(field "$events/createSecret.json" SecretId); token=$(field "$events/createSecret.json" ClientRequestToken)
  echo; log "$secret: rotating with the $binary function"
  secrets create "$secret" "$json" >/dev/null
  secrets start "$secret" "$token"
  echo "Before:"; secrets table "$secret"
  for step in createSecret setSecret testSecret finishSecret; do
    printf '  cargo lambda invoke %s --data-file %s/%s.json -> ' "$binary" "$events" "$step"
    if ! cargo lambda invoke "$binary" --invoke-address 127.0.0.1 --invoke-port "$PORT" --data-file "$events/$step.json"; then
      echo "--- function log ---"; tail -20 "$ROTATION_SANDBOX_DIR/watch.log"; die "$step failed"
    fi
  done
  echo "After:"; secrets table "$secret"
  if [ -n "$db" ]; then echo "Logins:"; secrets login "$secret"; fi
}

psql_admin() { PGPASSWORD="$SANDBOX_PG_PASSWORD" psql -h 127.0.0.1 -p "$SANDBOX_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -Atq "$@"; }
psql_admin -d postgres -c "CREATE ROLE demo_pg_single LOGIN PASSWORD 'Demo-Single-1'" \
  -c "CREATE ROLE demo_pg_multi LOGIN PASSWORD 'Demo-Multi-1'"
psql_admin -d dev -c "SET password_encryption = 'md5'" -c "CREATE ROLE demo_rs_single LOGIN PASSWORD 'Demo-RsSingle-1'" \
  -c "CREATE ROLE demo_rs_multi LOGIN PASSWORD 'Demo-RsMulti-1'"
POSTGRES_MASTER_ARN=$(secrets create demo/postgres-master "{\"engine\":\"postgres\",\"host\":\"127.0.0.1\",\"port\":$SANDBOX_PG_PORT,\"username\":\"postgres\",\"password\":\"$SANDBOX_PG_PASSWORD\"}")
REDSHIFT_MASTER_ARN=$(secrets create demo/redshift-master "{\"engine\":\"redshift\",\"host\":\"127.0.0.1\",\"port\":$SANDBOX_PG_PORT,\"username\":\"postgres\",\"password\":\"$SANDBOX_PG_PASSWORD\"}")
maria_admin() { mariadb --no-defaults -h 127.0.0.1 -P "$SANDBOX_MARIADB_PORT" -uroot -p"$SANDBOX_MARIADB_PASSWORD" -e "$1"; }
maria_admin "CREATE USER demo_maria_single@'%' IDENTIFIED BY 'Demo-MariaSingle-1';
CREATE USER demo_maria_multi@'%' IDENTIFIED BY 'Demo-MariaMulti-1';
CREATE DATABASE demo_maria; GRANT SELECT ON demo_maria.* TO demo_maria_multi@'%';
CREATE USER demo_mysql_single@'%' IDENTIFIED BY 'Demo-MySingle-1';
CREATE USER demo_mysql_multi@'%' IDENTIFIED BY 'Demo-MyMulti-1';
GRANT SELECT ON demo_maria.* TO demo_mysql_multi@'%';
CREATE USER demo_maria_master@'%' IDENTIFIED BY 'Demo-MariaMaster-1';
GRANT ALL PRIVILEGES ON *.* TO demo_maria_master@'%' WITH GRANT OPTION;"
MARIADB_MASTER_ARN=$(secrets create demo/mariadb-master "{\"engine\":\"mariadb\",\"host\":\"127.0.0.1\",\"port\":$SANDBOX_MARIADB_PORT,\"username\":\"demo_maria_master\",\"password\":\"Demo-MariaMaster-1\",\"ssl\":true}")
MYSQL_MASTER_ARN=$(secrets create demo/mysql-master "{\"engine\":\"mysql\",\"host\":\"127.0.0.1\",\"port\":$SANDBOX_MARIADB_PORT,\"username\":\"demo_maria_master\",\"password\":\"Demo-MariaMaster-1\",\"ssl\":true}")
maria_secret() { echo "{\"engine\":\"${ENGINE:-mariadb}\",\"host\":\"127.0.0.1\",\"port\":$SANDBOX_MARIADB_PORT,\"username\":\"$1\",\"password\":\"$2\",\"ssl\":true$3}"; }
pg_secret() { echo "{\"engine\":\"$1\",\"host\":\"127.0.0.1\",\"port\":$SANDBOX_PG_PORT,\"username\":\"$2\",\"password\":\"$3\",\"dbname\":\"$4\",\"ssl\":true$5}"; }

# Both sandbox servers' CAs, one PEM, given as EXTRA_CA_CERTS.
CA_BUNDLE="$ROTATION_SANDBOX_DIR/demo-ca.pem"
cat "$SANDBOX_PG_CA" "$SANDBOX_MARIADB_CA" "$SANDBOX_REDIS_CA" >"$CA_BUNDLE"

# An ElastiCache user on moto (moto mirrors it into the sandbox Redis), and AUTH with redis-cli.
USER_ARN=$("$VENV/bin/python3" - <<PY
import boto3
ec = boto3.client("elasticache", endpoint_url="$MOTO_ENDPOINT", region_name="us-east-1")
print(ec.create_user(UserId="demo-cache-user", UserName="demo_cache", Engine="redis",
                     Passwords=["Demo-Cache-Pa55word-1"], AccessString="on ~* +@all")["ARN"])
PY
)
# AUTH against the sandbox Redis with the demo secret's credentials at a stage (printed: the
# stage, the user and Redis's answer; never the password).
cache_auth() {
  "$VENV/bin/python3" - "$1" <<PY
import boto3, json, os, subprocess, sys
sm = boto3.client("secretsmanager", endpoint_url="$MOTO_ENDPOINT", region_name="us-east-1")
v = json.loads(sm.get_secret_value(SecretId="demo/elasticache-user", VersionStage=sys.argv[1])["SecretString"])
out = subprocess.run(["redis-cli", "--tls", "--cacert", "$SANDBOX_REDIS_CA", "--sni", "db.rotation.test",
                      "-h", "127.0.0.1", "-p", "$SANDBOX_REDIS_TLS_PORT", "--user", v["username"],
                      "--pass", v["password"], "--no-auth-warning", "PING"], capture_output=True, text=True)
print(f"  {sys.argv[1]:<11} AUTH {v['username']}: {(out.stdout + out.stderr).strip().splitlines()[0]}")
PY
}

# No DocumentDB or MongoDB server can run here: the testkit's MongoDB-wire stand-in plays a
# DocumentDB 4.0 cluster (wire version 7, SCRAM-SHA-1 only, users in admin) over TLS with the
# sandbox certificate. pymongo, an independent client, creates the demo users and tries the
# logins; the function uses the official Rust driver.
log "starting the MongoDB-wire stand-in (DocumentDB 4.0 personality)"
MONGO_ROOT_PASSWORD=$(random_password)
"$REPO_ROOT/target/debug/mongo-standin" documentdb "$MONGO_ROOT_PASSWORD" >"$ROTATION_SANDBOX_DIR/mongo.port" &
MONGO_PID=$!
for _ in $(seq 100); do [ -s "$ROTATION_SANDBOX_DIR/mongo.port" ] && break; sleep 0.1; done
MONGO_PORT=$(head -1 "$ROTATION_SANDBOX_DIR/mongo.port")
wait_port "$MONGO_PORT" 10 || die "the MongoDB-wire stand-in did not start"
# pymongo ADMIN_PASSWORD PORT [ACTION]: the pymongo venv's Python, with a client `root` as the
# stand-in's superuser (over verified TLS, a direct connection) and `login(user, password)`.
pymongo_run() {
  "$SANDBOX_PYMONGO" -c "
import sys
from pymongo import MongoClient
from pymongo.errors import PyMongoError
def client(user, password):
    return MongoClient(host='127.0.0.1', port=$MONGO_PORT, directConnection=True, tls=True, tlsCAFile='$SANDBOX_TLS_CA',
                       username=user, password=password, authSource='admin', retryWrites=False, serverSelectionTimeoutMS=3000)
def login(user, password):
    c = client(user, password)
    try:
        c.admin.command('ping'); return 'login accepted'
    except PyMongoError as e:
        return 'login refused (%s)' % getattr(e, 'code', type(e).__name__)
    finally:
        c.close()
root = client('root', '$MONGO_ROOT_PASSWORD')
$1"
}
pymongo_run "
root.admin.command('createRole', 'changeOwnPasswordRole', roles=[], privileges=[{'resource': {'db': '', 'collection': ''}, 'actions': ['changeOwnPassword']}])
root.admin.command('createUser', 'demo_docdb_single', pwd='Demo-DocSingle-1', roles=[{'role': 'readWrite', 'db': 'admin'}, {'role': 'changeOwnPasswordRole', 'db': 'admin'}])
root.admin.command('createUser', 'demo_docdb_multi', pwd='Demo-DocMulti-1', roles=[{'role': 'readWrite', 'db': 'admin'}])"
# engine docdb: the stand-in is reached as 127.0.0.1, not as a DocumentDB endpoint, so the
# secret says it is DocumentDB (which has no authentication restrictions to copy).
mongo_secret() { echo "{\"engine\":\"docdb\",\"host\":\"127.0.0.1\",\"port\":$MONGO_PORT,\"username\":\"$1\",\"password\":\"$2\",\"dbname\":\"admin\",\"ssl\":true$3}"; }
DOCUMENTDB_MASTER_ARN=$(secrets create demo/documentdb-master "$(mongo_secret root "$MONGO_ROOT_PASSWORD" '')")
# stage_logins SECRET_ID RUNNER WORD: logs in to a stand-in through RUNNER (pymongo_run,
# pymssql_run: a client that is not ours) as the demo secret's AWSCURRENT and AWSPREVIOUS
# principals (printed: the stage, the WORD (user / login) and the answer; never the password).
stage_logins() {
  local stage value
  for stage in AWSCURRENT AWSPREVIOUS; do
    value=$("$VENV/bin/python3" -c "
import boto3, sys
sm = boto3.client('secretsmanager', endpoint_url='$MOTO_ENDPOINT', region_name='us-east-1')
print(sm.get_secret_value(SecretId='$1', VersionStage='$stage')['SecretString'])")
    VALUE="$value" "$2" "
import json, os
v = json.loads(os.environ['VALUE'])
print('  %-11s $3 %-$((26 - ${#3}))s %s' % ('$stage', v['username'], login(v['username'], v['password'])))"
  done
}
mongo_logins() { echo "Logins (pymongo):"; stage_logins "$1" pymongo_run user; }
# No SQL Server can run here: the testkit's TDS stand-in plays Amazon RDS for SQL Server (an
# RDS-like master login `admin`; encryption forced, as rds.force_ssl = 1) with the sandbox
# certificate. pymssql (FreeTDS), an independent client, creates the demo logins and tries the
# logins; the function uses tiberius.
log "starting the TDS stand-in (RDS for SQL Server, encryption forced)"
TDS_MASTER_PASSWORD=$(random_password)
"$REPO_ROOT/target/debug/tds-standin" --encryption on --cert "$SANDBOX_TLS_CERT" --key "$SANDBOX_TLS_KEY" \
  --login "admin:master:$TDS_MASTER_PASSWORD" >"$ROTATION_SANDBOX_DIR/tds.port" &
TDS_PID=$!
for _ in $(seq 100); do [ -s "$ROTATION_SANDBOX_DIR/tds.port" ] && break; sleep 0.1; done
TDS_PORT=$(head -1 "$ROTATION_SANDBOX_DIR/tds.port")
wait_port "$TDS_PORT" 10 || die "the TDS stand-in did not start"
# FreeTDS takes its encryption from this file (pymssql's keyword does not reach the PRELOGIN):
# the whole session in TLS, the certificate verified against the sandbox CA.
printf '[global]\n\tencryption = require\n\tca file = %s\n' "$SANDBOX_TLS_CA" >"$ROTATION_SANDBOX_DIR/freetds.conf"
# pymssql_run ACTION: the TDS venv's Python with `connect(user, password)` (over verified TLS,
# autocommit: the stand-in models no transactions), `login(user, password)` and `admin`, a
# session of the master login.
pymssql_run() {
  FREETDSCONF="$ROTATION_SANDBOX_DIR/freetds.conf" TDS_MASTER_PASSWORD="$TDS_MASTER_PASSWORD" "$SANDBOX_TDS_PYTHON" -c "
import os
import pymssql
def connect(user, password):
    return pymssql.connect(server='127.0.0.1', port=$TDS_PORT, user=user, password=password, database='master',
                           autocommit=True, login_timeout=5, timeout=10)
def login(user, password):
    try:
        c = connect(user, password)
    except pymssql.Error as e:
        return 'login refused (%s)' % (e.args[0][0] if e.args and isinstance(e.args[0], tuple) else type(e).__name__)
    c.close()
    return 'login accepted'
admin = connect('admin', os.environ['TDS_MASTER_PASSWORD'])
$1"
}
pymssql_run "
admin.cursor().execute('CREATE LOGIN [demo_sql_single] WITH PASSWORD = %s', ('Demo-SqlSingle-1',))
admin.cursor().execute('CREATE LOGIN [demo_sql_multi] WITH PASSWORD = %s', ('Demo-SqlMulti-1',))"
sqlserver_secret() { echo "{\"engine\":\"sqlserver\",\"host\":\"127.0.0.1\",\"port\":$TDS_PORT,\"username\":\"$1\",\"password\":\"$2\",\"dbname\":\"master\",\"ssl\":true$3}"; }
SQLSERVER_MASTER_ARN=$(secrets create demo/sqlserver-master "$(sqlserver_secret admin "$TDS_MASTER_PASSWORD" '')")
sqlserver_logins() { echo "Logins (pymssql):"; stage_logins "$1" pymssql_run login; }

log "starting cargo lambda watch (single-user strategy)"
start_watch single
rotate generic events '{"username":"demo","password":"initial-demo-password","port":8443,"team":"unknown keys are kept"}'
rotate postgresql events/postgresql-single-user "$(pg_secret postgres demo_pg_single Demo-Single-1 postgres '')" db
rotate redshift events/redshift-single-user "$(pg_secret redshift demo_rs_single Demo-RsSingle-1 dev '')" db
rotate mariadb events/mariadb-single-user "$(maria_secret demo_maria_single Demo-MariaSingle-1 '')" db
# No MySQL server is available here: the mysql function rotates an engine "mysql" secret on
# the sandbox MariaDB (its SQL follows the server it meets).
rotate mysql events/mysql-single-user "$(ENGINE=mysql maria_secret demo_mysql_single Demo-MySingle-1 '')" db
rotate elasticache events/elasticache "{\"user_arn\":\"$USER_ARN\",\"username\":\"demo_cache\",\"password\":\"Demo-Cache-Pa55word-1\",\"host\":\"127.0.0.1\",\"port\":$SANDBOX_REDIS_TLS_PORT,\"tlsServerName\":\"db.rotation.test\"}"
echo "Both passwords work until the next rotation (ElastiCache keeps two per user):"
cache_auth AWSCURRENT; cache_auth AWSPREVIOUS
rotate mongodb events/documentdb-single-user "$(mongo_secret demo_docdb_single Demo-DocSingle-1 '')"
mongo_logins demo/documentdb-single-user
rotate sqlserver events/sqlserver-single-user "$(sqlserver_secret demo_sql_single Demo-SqlSingle-1 '')"
sqlserver_logins demo/sqlserver-single-user

log "restarting cargo lambda watch (alternating-users strategy)"
start_watch alternating
rotate postgresql events/postgresql-multi-user "$(pg_secret postgres demo_pg_multi Demo-Multi-1 postgres ',"masterarn":"demo/postgres-master"')" db
rotate redshift events/redshift-multi-user "$(pg_secret redshift demo_rs_multi Demo-RsMulti-1 dev ',"masterarn":"demo/redshift-master"')" db
rotate mariadb events/mariadb-multi-user "$(maria_secret demo_maria_multi Demo-MariaMulti-1 ',"masterarn":"demo/mariadb-master"')" db
rotate mysql events/mysql-multi-user "$(ENGINE=mysql maria_secret demo_mysql_multi Demo-MyMulti-1 ',"masterarn":"demo/mysql-master"')" db
rotate mongodb events/documentdb-multi-user "$(mongo_secret demo_docdb_multi Demo-DocMulti-1 ',"masterarn":"demo/documentdb-master"')"
mongo_logins demo/documentdb-multi-user
rotate sqlserver events/sqlserver-multi-user "$(sqlserver_secret demo_sql_multi Demo-SqlMulti-1 ',"masterarn":"demo/sqlserver-master"')"
sqlserver_logins demo/sqlserver-multi-user

echo; log "preflight of three rotated secrets (the deployed function's extra event; it changes nothing)"
for f in postgresql:events/postgresql-multi-user mariadb:events/mariadb-multi-user mongodb:events/documentdb-multi-user; do
  printf '  cargo lambda invoke %s --data-file %s/preflight.json -> ' "${f%%:*}" "${f#*:}"
  cargo lambda invoke "${f%%:*}" --invoke-address 127.0.0.1 --invoke-port "$PORT" --data-file "${f#*:}/preflight.json" \
    | python3 -c 'import json, sys; r = json.load(sys.stdin); print("ok" if r["ok"] else "FAILED", ", ".join(c["name"] + ("" if c["ok"] else " FAILED") for c in r["checks"])); sys.exit(0 if r["ok"] else 1)' \
    || die "the preflight of ${f#*:} failed"
done

echo; echo "Function log summary lines (one per step):"
python3 - "$ROTATION_SANDBOX_DIR/watch.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if '"rotation step' not in line:
        continue
    e = json.loads(line[line.index("{"):])
    secret = e["secret_arn"].rsplit(":", 1)[-1]
    print(f"  {e['step']:<13} {e['outcome']:<16} {e['duration_ms']:>8.1f} ms  {secret}")
PY
