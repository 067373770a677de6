#!/usr/bin/env bash
# The benchmark command (not part of the test command): starts a private sandbox, builds the
# release bundle as a deployer gets it (scripts/package.sh: sam build of every per-type
# template, the release profile, the glibc 2.26 target), then runs scripts/bench.py on the
# bundle's zips and templates: cold starts, warm step and rotation latency over plain TCP and
# verified TLS, counted Secrets Manager calls and database work, sizes and peak RSS, for every
# rotation type. Writes target/bench/results.md (the table) and results.json.
# Options are passed to bench.py (e.g. --rotations 50 --spawns 20 --types MariaDBSingleUser).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

use_tools
export ROTATION_SANDBOX_DIR="$REPO_ROOT/.sandbox/bench"
trap '"$REPO_ROOT/scripts/sandbox.sh" stop' EXIT
"$REPO_ROOT/scripts/sandbox.sh" start
# shellcheck disable=SC1091
source "$ROTATION_SANDBOX_DIR/env"

log "building the release bundle (scripts/package.sh)"
START=$SECONDS
mkdir -p target/bench
"$REPO_ROOT/scripts/package.sh" --out target/bench/dist >target/bench/build.log 2>&1 \
  || { tail -40 target/bench/build.log; die "scripts/package.sh failed"; }
log "  ... built in $((SECONDS - START)) s"
# The MongoDB-wire stand-in the DocumentDB / MongoDB types are measured against (no DocumentDB
# or MongoDB server can run here; its debug build, with the crypto crates optimised).
cargo build -q --locked -p rotation-testkit --features mongo --bin mongo-standin
export BENCH_MONGO_STANDIN="$REPO_ROOT/target/debug/mongo-standin"
# The TDS stand-in the SQL Server types are measured against (no SQL Server can run here).
cargo build -q --locked -p rotation-testkit --features tds --bin tds-standin
export BENCH_TDS_STANDIN="$REPO_ROOT/target/debug/tds-standin"

log "measuring"
"$VENV/bin/python3" scripts/bench.py --bundle target/bench/dist --out target/bench "$@"
