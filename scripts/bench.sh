#!/usr/bin/env bash
# The benchmark command (not part of the test command): starts a private sandbox, builds every
# function's release `bootstrap` exactly as `sam build` does (`cargo lambda build --release
# --bin NAME` in the function's directory: the release profile, the glibc 2.26 target), then
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

log "building the release bootstraps as sam build does"
START=$SECONDS
for binary in $("$VENV/bin/python3" -c 'import tomllib; print(" ".join(dict.fromkeys(t["binary"] for t in tomllib.load(open("packaging/rotation-types.toml", "rb"))["type"])))'); do
  (cd "functions/$binary" && cargo lambda build --release --locked --bin "$binary" 2>&1 | grep -v '^ *Compiling' >&2) \
    || die "cargo lambda build $binary"
done
log "  ... built in $((SECONDS - START)) s"
"$REPO_ROOT/scripts/check-glibc.sh" target/lambda

log "measuring"
"$VENV/bin/python3" scripts/bench.py --bootstraps target/lambda --out target/bench "$@"
