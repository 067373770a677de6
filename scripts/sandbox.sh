#!/usr/bin/env bash
# The local sandbox: a moto server (Secrets Manager emulator) and throwaway PostgreSQL and
# MariaDB servers with real password authentication and TLS, each on a free loopback port; a
# second MariaDB runs the password-validation plugin simple_password_check; a Redis server
# (TLS port for clients, password-protected plain port for moto) stands in for an ElastiCache
# endpoint: moto's ElastiCache users are mirrored into its ACL users.
#
#   scripts/sandbox.sh start   start everything (runs setup.sh first), print the env file path
#   scripts/sandbox.sh env     print `export` lines for the running sandbox
#   scripts/sandbox.sh stop    stop everything and delete its data
#
# State lives in $ROTATION_SANDBOX_DIR (default .sandbox/default), so several sandboxes
# (tests, demo) can run side by side. SANDBOX_PG_MAX_CONNECTIONS sets PostgreSQL's
# max_connections (default 300; the fleet benchmark sets it low enough to be reached).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ENV_FILE="$SANDBOX_STATE/env"

start_moto() {
  local port; port=$(free_port)
  # moto, with PutSecretValue's token rule as the service has it, and ElastiCache's ModifyUser
  # (mirrored into the sandbox Redis); see the script.
  SANDBOX_REDIS_ADMIN_PORT="$REDIS_ADMIN_PORT" SANDBOX_REDIS_ADMIN_PASSWORD="$REDIS_ADMIN_PASSWORD" \
    nohup "$VENV/bin/python" "$REPO_ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"$SANDBOX_STATE/moto.log" 2>&1 &
  echo $! >"$SANDBOX_STATE/moto.pid"
  wait_port "$port" 30 || die "moto server did not start; see $SANDBOX_STATE/moto.log"
  echo "export MOTO_ENDPOINT=http://127.0.0.1:$port" >>"$ENV_FILE"
}

make_certs() {
  local d=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rotation sandbox CA" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:db.rotation.test\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext.cnf" -out "$d/server.crt" 2>/dev/null
  # A second CA that signed nothing the servers present: for "unknown CA" tests.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rotation sandbox other CA" \
    -keyout "$d/other-ca.key" -out "$d/other-ca.crt" 2>/dev/null
  chmod 644 "$d"/*.crt; chmod 600 "$d"/*.key
}

# Redis: clients on a TLS port (the sandbox certificate), moto's mirroring on a plain port whose
# default user needs a password; no persistence.
start_redis() {
  local dir tls_port
  dir=$(mktemp -d /tmp/rotation-redis.XXXXXX)
  echo "$dir" >"$SANDBOX_STATE/redis.dir"
  mkdir -p "$dir/tls"
  make_certs "$dir/tls"
  REDIS_ADMIN_PORT=$(free_port); tls_port=$(free_port); REDIS_ADMIN_PASSWORD=$(random_password)
  cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
protected-mode yes
port $REDIS_ADMIN_PORT
tls-port $tls_port
tls-cert-file $dir/tls/server.crt
tls-key-file $dir/tls/server.key
tls-ca-cert-file $dir/tls/ca.crt
tls-auth-clients no
requirepass $REDIS_ADMIN_PASSWORD
save ""
appendonly no
dir $dir
pidfile $dir/redis.pid
logfile $dir/redis.log
daemonize yes
CONF
  chmod 600 "$dir/redis.conf"
  redis-server "$dir/redis.conf" || die "redis-server did not start; see $dir/redis.log"
  wait_port "$tls_port" 30 || die "redis did not listen; see $dir/redis.log"
  cat >>"$ENV_FILE" <<ENV
export SANDBOX_REDIS_HOST=127.0.0.1
export SANDBOX_REDIS_TLS_PORT=$tls_port
export SANDBOX_REDIS_ADMIN_PORT=$REDIS_ADMIN_PORT
export SANDBOX_REDIS_ADMIN_PASSWORD=$REDIS_ADMIN_PASSWORD
export SANDBOX_REDIS_CA=$dir/tls/ca.crt
export SANDBOX_TLS_CERT=$dir/tls/server.crt
export SANDBOX_TLS_KEY=$dir/tls/server.key
export SANDBOX_TLS_CA=$dir/tls/ca.crt
ENV
}

stop_redis() {
  [ -f "$SANDBOX_STATE/redis.dir" ] || return 0
  local dir pid=""; dir=$(cat "$SANDBOX_STATE/redis.dir")
  [ -f "$dir/redis.pid" ] && pid=$(cat "$dir/redis.pid")
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || break; sleep 0.1; done
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

start_postgres() {
  local bin port dir pw
  bin=$(pg_bin); port=$(free_port); pw=$(random_password)
  dir=$(mktemp -d /tmp/rotation-pg.XXXXXX)
  echo "$dir" >"$SANDBOX_STATE/pg.dir"
  mkdir -p "$dir/data" "$dir/sock" "$dir/tls"
  printf '%s\n' "$pw" >"$dir/pwfile"
  make_certs "$dir/tls"
  chown -R postgres:postgres "$dir"; chmod 755 "$dir" "$dir/tls"
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 \
    --pwfile="$dir/pwfile" --no-sync >"$dir/initdb.log" 2>&1 || die "initdb failed; see $dir/initdb.log"
  rm -f "$dir/pwfile"
  # Password authentication everywhere (never trust). Members of tls_only must use TLS; members
  # of md5_auth use md5; database dev (the Redshift stand-in) uses md5, as Redshift does.
  cat >"$dir/data/pg_hba.conf" <<HBA
local     all all          scram-sha-256
hostssl   all +tls_only    127.0.0.1/32 scram-sha-256
hostnossl all +tls_only    127.0.0.1/32 reject
host      all +md5_auth    127.0.0.1/32 md5
host      dev all          127.0.0.1/32 md5
host      all all          127.0.0.1/32 scram-sha-256
HBA
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
    "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on \
     -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key \
     -c ssl_ca_file=$dir/tls/ca.crt -c log_statement=all -c log_connections=on -c password_encryption=scram-sha-256 -c max_connections=${SANDBOX_PG_MAX_CONNECTIONS:-300} \
     -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_utility=on" \
    start >/dev/null || die "PostgreSQL did not start; see $dir/server.log"
  # Real password authentication: the right password works, a wrong one is refused.
  PGPASSWORD="$pw" psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc 'select 1' >/dev/null \
    || die "PostgreSQL refused the superuser password"
  if PGPASSWORD="wrong-$pw" psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    die "PostgreSQL accepted a wrong password: password authentication is not in force"
  fi
  PGPASSWORD="$pw" psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atq \
    -c 'CREATE ROLE tls_only NOLOGIN' -c 'CREATE ROLE md5_auth NOLOGIN' -c 'CREATE DATABASE dev' \
    -c 'CREATE EXTENSION pg_stat_statements' >/dev/null || die "PostgreSQL sandbox setup failed"
  cat >>"$ENV_FILE" <<ENV
export SANDBOX_PG_HOST=127.0.0.1
export SANDBOX_PG_PORT=$port
export SANDBOX_PG_USER=postgres
export SANDBOX_PG_PASSWORD=$pw
export SANDBOX_PG_CA=$dir/tls/ca.crt
export SANDBOX_PG_OTHER_CA=$dir/tls/other-ca.crt
export SANDBOX_PG_LOG=$dir/server.log
export SANDBOX_PG_DATA=$dir/data
ENV
}

# Starts a MariaDB server; $1 names it (state files, variables: SANDBOX_$1_*), $2 is "policy"
# for a server with a password-validation plugin (simple_password_check, in its default strict
# mode: it refuses every statement that sets a password as a hash), installed after root's
# password is set.
start_mariadb() {
  local name=$1 policy=${2:-} port dir pw
  local var="SANDBOX_${name}"
  port=$(free_port); pw="$(random_password)#7aA"
  dir=$(mktemp -d /tmp/rotation-mariadb.XXXXXX)
  echo "$dir" >"$SANDBOX_STATE/${name,,}.dir"
  mkdir -p "$dir/data" "$dir/tls"
  make_certs "$dir/tls"
  chown -R mysql:mysql "$dir"; chmod 755 "$dir" "$dir/tls"
  runuser -u mysql -- mariadb-install-db --no-defaults --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
    || die "mariadb-install-db failed; see $dir/install.log"
  runuser -u mysql -- nohup mariadbd --no-defaults --datadir="$dir/data" --port="$port" \
    --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
    --skip-name-resolve --ssl-cert="$dir/tls/server.crt" --ssl-key="$dir/tls/server.key" \
    --ssl-ca="$dir/tls/ca.crt" --plugin-load-add=auth_ed25519 \
    --general-log=1 --general-log-file="$dir/general.log" --log-bin="$dir/binlog" --server-id=1 \
    >"$dir/server.log" 2>&1 &
  echo $! >"$SANDBOX_STATE/${name,,}.pid"
  wait_port "$port" 60 || die "MariaDB ($name) did not start; see $dir/server.log"
  local sql="CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';
DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost', '127.0.0.1'));
FLUSH PRIVILEGES;"
  mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot -e "$sql" || die "could not set the MariaDB ($name) root password"
  if [ "$policy" = policy ]; then
    mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot -p"$pw" \
      -e "INSTALL SONAME 'simple_password_check'" || die "could not load simple_password_check"
  fi
  mariadb --no-defaults -h 127.0.0.1 -P "$port" -uroot -p"$pw" -e 'select 1' >/dev/null \
    || die "MariaDB ($name) refused the root password"
  if mariadb --no-defaults -h 127.0.0.1 -P "$port" -uroot -p"wrong-$pw" -e 'select 1' >/dev/null 2>&1; then
    die "MariaDB ($name) accepted a wrong password: password authentication is not in force"
  fi
  cat >>"$ENV_FILE" <<ENV
export ${var}_HOST=127.0.0.1
export ${var}_PORT=$port
export ${var}_USER=root
export ${var}_PASSWORD='$pw'
export ${var}_CA=$dir/tls/ca.crt
export ${var}_OTHER_CA=$dir/tls/other-ca.crt
export ${var}_GENERAL_LOG=$dir/general.log
export ${var}_BINLOG_DIR=$dir
ENV
}

stop_mariadb() {
  local name=$1
  [ -f "$SANDBOX_STATE/${name,,}.dir" ] || return 0
  local dir; dir=$(cat "$SANDBOX_STATE/${name,,}.dir")
  local pid=""
  [ -f "$dir/mysqld.pid" ] && pid=$(cat "$dir/mysqld.pid")
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  if [ -f "$SANDBOX_STATE/${name,,}.pid" ]; then kill "$(cat "$SANDBOX_STATE/${name,,}.pid")" 2>/dev/null || true; fi
  # Wait for the server to exit before deleting its files (at most 20 s, then force).
  for _ in $(seq 200); do { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || break; sleep 0.1; done
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

stop() {
  [ -d "$SANDBOX_STATE" ] || return 0
  if [ -f "$SANDBOX_STATE/moto.pid" ]; then kill "$(cat "$SANDBOX_STATE/moto.pid")" 2>/dev/null || true; fi
  if [ -f "$SANDBOX_STATE/pg.dir" ]; then
    local dir; dir=$(cat "$SANDBOX_STATE/pg.dir")
    if [ -f "$dir/data/postmaster.pid" ]; then
      runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
  fi
  stop_mariadb MARIADB
  stop_mariadb MARIADB_POLICY
  stop_redis
  rm -rf "$SANDBOX_STATE"
}

case "${1:-}" in
  start)
    "$(dirname "$0")/setup.sh"
    stop
    mkdir -p "$SANDBOX_STATE"
    : >"$ENV_FILE"
    echo "export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true" >>"$ENV_FILE"
    echo "export SANDBOX_PYMONGO=$PYMONGO_VENV/bin/python" >>"$ENV_FILE"
    echo "export SANDBOX_TDS_PYTHON=$TDS_VENV/bin/python" >>"$ENV_FILE"
    # The tools venv's Python (boto3 comes with moto): scripts/elasticache_calibrate.py in the tests.
    echo "export SANDBOX_PYTHON=$VENV/bin/python" >>"$ENV_FILE"
    trap 'stop; exit 1' ERR
    log "starting Redis, moto, PostgreSQL and two MariaDB servers on loopback"
    start_redis
    start_moto
    start_postgres
    start_mariadb MARIADB
    start_mariadb MARIADB_POLICY policy
    trap - ERR
    log "sandbox up; environment in $ENV_FILE"
    ;;
  env) cat "$ENV_FILE" 2>/dev/null || die "no sandbox running in $SANDBOX_STATE" ;;
  stop) stop ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
