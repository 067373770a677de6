#!/usr/bin/env bash
# The fleet benchmark (not part of the test command): starts a private sandbox whose PostgreSQL
# has a low max_connections (FLEET_PG_MAX_CONNECTIONS, default 10), builds the release
# `postgresql` and `mariadb` binaries (or takes them from --bin-dir DIR), then runs
# scripts/fleet.py: by default 500 secrets (PostgreSQL and MariaDB, alternating users and
# single user) rotated by 50 function processes at once, a share of Secrets Manager calls
# throttled, once per SDK retry mode (standard, adaptive). Writes target/fleet/results.md and
# results.json. Other options go to fleet.py (e.g. --secrets 100 --processes 20 --throttle 0.1
# --mariadb-held 8 --retry-modes standard).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

BIN_DIR=""
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) BIN_DIR=$2; shift 2 ;;
    --bin-dir=*) BIN_DIR=${1#--bin-dir=}; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done

use_tools
if [ -z "$BIN_DIR" ]; then
  log "building the release binaries (postgresql, mariadb)"
  BIN_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release"
  cargo build --locked --release -p rotation-postgresql --bin postgresql -p rotation-mysql --bin mariadb
fi
for b in postgresql mariadb; do [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b is missing"; done

export ROTATION_SANDBOX_DIR="$REPO_ROOT/.sandbox/fleet"
export SANDBOX_PG_MAX_CONNECTIONS="${FLEET_PG_MAX_CONNECTIONS:-10}"
trap '"$REPO_ROOT/scripts/sandbox.sh" stop' EXIT
"$REPO_ROOT/scripts/sandbox.sh" start
# shellcheck disable=SC1091
source "$ROTATION_SANDBOX_DIR/env"

mkdir -p target/fleet
log "rotating the fleet (PostgreSQL max_connections $SANDBOX_PG_MAX_CONNECTIONS)"
"$VENV/bin/python3" scripts/fleet.py --bin-dir "$BIN_DIR" --out target/fleet "${ARGS[@]}"
