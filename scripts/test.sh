#!/usr/bin/env bash
# The README's test command: installs what is missing, starts a private sandbox, then runs
# formatting and lint checks, cargo deny (licences, bans), every Rust test (unit tests on the fake, integration tests on moto
# and the databases) (the MongoDB-wire stand-in proved with pymongo among them), the templates (generated from packaging/rotation-types.toml; cfn-lint,
# sam validate --lint, checkov, scripts/check_template.py, scripts/render_test.py),
# the docs' claims (scripts/check_docs.py: the toolchain minimum, deploy commands),
# `sam build` and the release bundle (beside the tests), the glibc 2.26 check of every built
# bootstrap, the release smoke test (every bundled bootstrap through a cold start and a
# rotation on the sandbox) and the same template checks on the bundle's templates. Stops the
# sandbox on exit, pass or fail.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

use_tools
export ROTATION_SANDBOX_DIR="$REPO_ROOT/.sandbox/test"
trap '"$REPO_ROOT/scripts/sandbox.sh" stop' EXIT
"$REPO_ROOT/scripts/sandbox.sh" start
# shellcheck disable=SC1091
source "$ROTATION_SANDBOX_DIR/env"

# sam build (the release build of every function: the longest piece, with long stretches on
# one core: codegen-units=1 crates, LTO links) starts first, in the background, and runs
# beside the lint, the test build and the integration tests (which wait on servers more than
# they compute); its log is printed if it fails. It builds template.yaml, then every per-type
# template, and writes the release bundle (scripts/package.sh) that the smoke test runs. Its
# cargo target directory is kept between runs ($SAM_TARGET_DIR: build artifacts only, started
# afresh past 4 GB), so a run rebuilds only what changed: from nothing it is about 20 minutes.
if [ -d "$SAM_TARGET_DIR" ] && [ "$(du -sm "$SAM_TARGET_DIR" | cut -f1)" -gt 4096 ]; then
  rm -rf "$SAM_TARGET_DIR"
fi
sam_builds() {
  # SAM finds the binaries through `cargo metadata`, which follows CARGO_TARGET_DIR.
  CARGO_TARGET_DIR="$SAM_TARGET_DIR" sam build
  build_types
  "$REPO_ROOT/scripts/package.sh" --no-build --out "$BUNDLE"
}
BUNDLE="$REPO_ROOT/dist"
SAM_LOG="$ROTATION_SANDBOX_DIR/sam-build.log"
SAM_START=$SECONDS
sam_builds >"$SAM_LOG" 2>&1 &
SAM_PID=$!
# On any exit the background build stops too (its whole process tree: sam, cargo, rustc).
kill_tree() { local child; for child in $(pgrep -P "$1"); do kill_tree "$child"; done; kill "$1" 2>/dev/null || true; }
trap 'kill_tree "$SAM_PID"; "$REPO_ROOT/scripts/sandbox.sh" stop' EXIT

phase() { log "$1"; PHASE_START=$SECONDS; }
done_phase() { log "  ... $((SECONDS - PHASE_START)) s"; }

phase "cargo fmt --check"; cargo fmt --all -- --check; done_phase
phase "cargo clippy -D warnings"; cargo clippy --workspace --all-targets --locked -q -- -D warnings; done_phase
phase "each function crate links only its own database driver, and all share one feature set"
# Generated from packaging/rotation-types.toml (each type's links, links_unused and the crates
# every other type links; [link_check]): every negative check beside a positive one on the same
# cargo tree, and no test-support feature in a function's release tree.
"$VENV/bin/python3" scripts/registry.py links
"$VENV/bin/python3" scripts/check_features.py
done_phase
phase "cargo deny: licences (deny.toml's list) and banned crates (no TLS stack but rustls)"
cargo fetch --locked -q  # every platform's packages: cargo deny reads their manifests offline
cargo-deny --offline --locked check licenses bans
done_phase
phase "tests (unit, fake, moto and database integration tests), with sam build beside them"
# cargo-nextest when the machine has it: each test in its own process, many at once across all
# test binaries (.config/nextest.toml). There are no doctests. Without it, cargo test runs the
# same tests, one binary at a time.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked
else
  cargo test --workspace --locked
fi
done_phase
phase "docs: the toolchain minimum, deploy commands; the registry: generated samples, events, support table, exclude row; demo, sandbox, beds; templates: generated from the type list, cfn-lint, sam validate --lint, checkov, contract checks, render test"
"$VENV/bin/python3" scripts/check_docs.py
"$VENV/bin/python3" scripts/registry.py check
"$VENV/bin/python3" scripts/templates.py check
cfn-lint template.yaml packaging/templates/*.yaml packaging/alerts/*.yaml
sam validate --lint
for t in packaging/templates/*.yaml; do sam validate --lint -t "$t" >/dev/null || die "sam validate --lint $t"; done
"$CHECKOV_VENV/bin/checkov" --skip-download --quiet --compact --framework cloudformation \
  -f template.yaml $(printf -- '-f %s ' packaging/templates/*.yaml packaging/alerts/*.yaml)
"$VENV/bin/python3" scripts/check_template.py
"$VENV/bin/python3" scripts/render_test.py
done_phase
phase "sam build (cargo lambda, glibc 2.26 target): template.yaml, every per-type template, the release bundle"
wait "$SAM_PID" || { cat "$SAM_LOG"; die "sam build failed"; }
log "  ... finished $((SECONDS - SAM_START)) s after it started"
done_phase
phase "glibc check: one bootstrap per function of template.yaml, one per rotation type in the bundle"
"$REPO_ROOT/scripts/check-glibc.sh" .aws-sam/build
"$REPO_ROOT/scripts/check-glibc.sh" --bundle "$BUNDLE"
done_phase
phase "release smoke: every bundled bootstrap, a cold start and a rotation on the sandbox"
run_smoke "$BUNDLE"
done_phase
phase "the bundle's templates: cfn-lint, sam validate --lint, checkov, render test"
cfn-lint "$BUNDLE"/*.yaml
for t in "$BUNDLE"/*.yaml; do sam validate --lint -t "$t" >/dev/null || die "sam validate --lint $t"; done
"$CHECKOV_VENV/bin/checkov" --skip-download --quiet --compact --framework cloudformation \
  $(printf -- '-f %s ' "$BUNDLE"/*.yaml)
"$VENV/bin/python3" scripts/render_test.py --bundle "$BUNDLE"
done_phase
log "all checks passed"
