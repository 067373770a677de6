#!/usr/bin/env bash
# The README's test command: installs what is missing, starts a private sandbox, then runs
# formatting and lint checks, every Rust test (unit tests on the fake, integration tests on moto
# and the databases), the template lints and contract checks (scripts/check_template.py),
# `sam build`, and the glibc 2.26 check of every built bootstrap. Stops the sandbox on exit, pass or fail.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

use_tools
export ROTATION_SANDBOX_DIR="$REPO_ROOT/.sandbox/test"
trap '"$REPO_ROOT/scripts/sandbox.sh" stop' EXIT
"$REPO_ROOT/scripts/sandbox.sh" start
# shellcheck disable=SC1091
source "$ROTATION_SANDBOX_DIR/env"

phase() { log "$1"; PHASE_START=$SECONDS; }
done_phase() { log "  ... $((SECONDS - PHASE_START)) s"; }

phase "cargo fmt --check"; cargo fmt --all -- --check; done_phase
phase "cargo clippy -D warnings"; cargo clippy --workspace --all-targets --locked -q -- -D warnings; done_phase
phase "cargo test (unit, fake, moto and database integration tests)"
cargo test --workspace --locked
done_phase
phase "template lints (cfn-lint, sam validate --lint) and contract checks"
cfn-lint template.yaml
sam validate --lint
"$VENV/bin/python3" scripts/check_template.py
done_phase
phase "sam build (cargo lambda, glibc 2.26 target)"; sam build; done_phase
phase "glibc check"; "$REPO_ROOT/scripts/check-glibc.sh" .aws-sam/build; done_phase
log "all checks passed"
