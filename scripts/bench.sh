#!/usr/bin/env bash
# The benchmark command (not part of the test command): starts a private sandbox, builds every
# function's release `bootstrap` as `sam build` does (cargo lambda, the release profile, the
# glibc 2.26 target; see below), then
# runs scripts/bench.py: cold starts, warm step and rotation latency over plain TCP and
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

log "building the release bootstraps (cargo lambda, release profile, glibc 2.26 target)"
START=$SECONDS
# One cargo invocation builds every function crate (one per wire protocol, each with all its
# binaries) with the release profile sam build uses, and links the five binaries in parallel.
CRATES=$("$VENV/bin/python3" -c 'import tomllib; print(" ".join(dict.fromkeys(t["crate"] for t in tomllib.load(open("packaging/rotation-types.toml", "rb"))["type"])))')
mkdir -p target/bench
# shellcheck disable=SC2046
cargo lambda build --release --locked --target x86_64-unknown-linux-gnu.2.26 $(printf -- '-p %s ' $CRATES) \
  >target/bench/build.log 2>&1 || { tail -40 target/bench/build.log; die "cargo lambda build failed"; }
log "  ... built in $((SECONDS - START)) s"
"$REPO_ROOT/scripts/check-glibc.sh" target/lambda
# The MongoDB-wire stand-in the DocumentDB / MongoDB types are measured against (no DocumentDB
# or MongoDB server can run here; its debug build, with the crypto crates optimised).
cargo build -q --locked -p rotation-testkit --features mongo --bin mongo-standin
export BENCH_MONGO_STANDIN="$REPO_ROOT/target/debug/mongo-standin"

log "measuring"
"$VENV/bin/python3" scripts/bench.py --bootstraps target/lambda --out target/bench "$@"
