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
deps() { cargo tree --locked -p "$1" -e normal --prefix none | cut -d' ' -f1 | sort -u; }
links() { deps "$1" | grep -qx "$2"; }
links postgresql tokio-postgres && links mysql mysql_async || die "cargo tree no longer shows the drivers"
for driver in tokio-postgres mysql_async aws-sdk-rds aws-sdk-redshift aws-sdk-redshiftserverless; do
  ! links generic "$driver" || die "generic links $driver"
done
for sdk in aws-sdk-redshift aws-sdk-redshiftserverless; do ! links mysql "$sdk" || die "mysql links $sdk"; done
! links postgresql mysql_async || die "postgresql links mysql_async"
! links mysql tokio-postgres || die "mysql links tokio-postgres"
for dep in tokio-postgres mysql_async aws-sdk-rds aws-sdk-redshift; do
  ! links elasticache "$dep" || die "elasticache links $dep"
done
links elasticache aws-sdk-elasticache || die "cargo tree no longer shows the ElastiCache SDK"
# Per binary, as its release build resolves it (cargo lambda takes each binary's features from
# its crate's [package.metadata.lambda.bin.<name>.build]). One cargo tree per binary, and its
# positive check first: a failing cargo tree fails the check instead of passing the negatives.
tree_of() { cargo tree --locked "$@" -e normal --prefix none -f '{p} [{f}]' | sort -u; }
holds() { grep -q "^$2 v" <<<"$1"; }                        # the tree holds package $2
core_features() { sed -n 's/^rotation-core v[^ ]* ([^)]*) \[\(.*\)\]$/\1/p' <<<"$1" | head -1; }
tree=$(tree_of -p postgresql --no-default-features --features rds) || die "cargo tree (binary postgresql) failed"
holds "$tree" aws-sdk-rds && holds "$tree" tokio-postgres || die "the postgresql binary no longer shows the RDS SDK and its driver"
for sdk in aws-sdk-redshift aws-sdk-redshiftserverless; do ! holds "$tree" "$sdk" || die "the postgresql binary links $sdk"; done
tree=$(tree_of -p postgresql --no-default-features --features redshift) || die "cargo tree (binary redshift) failed"
holds "$tree" aws-sdk-redshift && holds "$tree" aws-sdk-redshiftserverless || die "the redshift binary no longer shows the Redshift SDKs"
! holds "$tree" aws-sdk-rds || die "the redshift binary links aws-sdk-rds"
tree=$(tree_of -p elasticache) || die "cargo tree -p elasticache failed"
[ "$(core_features "$tree")" = tls ] || die "elasticache takes the core with features [$(core_features "$tree")], not its trust anchors alone (tls)"
tree=$(tree_of -p generic) || die "cargo tree -p generic failed"
holds "$tree" rotation-core && [ -z "$(core_features "$tree")" ] || die "generic takes the core with features [$(core_features "$tree")]"
! holds "$tree" workspace-hack || die "generic takes the workspace-hack's feature union"
! links generic aws-sdk-elasticache || die "generic links aws-sdk-elasticache"
for crate in generic postgresql mysql elasticache mongodb-rotation; do  # the operator tool's SDKs stay out of the functions
  for sdk in aws-sdk-lambda aws-sdk-cloudwatchlogs; do ! links "$crate" "$sdk" || die "$crate links $sdk"; done
done
links rotation-ctl aws-sdk-lambda || die "cargo tree no longer shows rotation-ctl's Lambda SDK"
links mongodb-rotation mongodb || die "cargo tree no longer shows the MongoDB driver"
for dep in tokio-postgres mysql_async aws-sdk-elasticache aws-sdk-redshift aws-sdk-redshiftserverless; do
  ! links mongodb-rotation "$dep" || die "mongodb-rotation links $dep"
done
for crate in generic postgresql mysql elasticache; do ! links "$crate" mongodb || die "$crate links the MongoDB driver"; done
# The test seams (rotation-core's and mongodb-rotation's feature test-support: redirected
# hosts, the in-memory store) are in no shipped build: no package of a function's release
# tree has the feature (the crates' own tests turn it on through dev-dependencies only).
for crate in generic postgresql mysql elasticache mongodb-rotation; do
  ! cargo tree --locked -p "$crate" -e normal,no-proc-macro --prefix none --target x86_64-unknown-linux-gnu \
    -f '{p} [{f}]' | grep -E '[[,]test-support[],]' || die "$crate's release build has a test-support feature"
done
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
phase "docs: the toolchain minimum, deploy commands; templates: generated from the type list, cfn-lint, sam validate --lint, checkov, contract checks, render test"
"$VENV/bin/python3" scripts/check_docs.py
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
