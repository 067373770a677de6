#!/usr/bin/env bash
# Mutation testing (not part of the test command: a run takes far longer than CI's budget):
# cargo-mutants, at the pinned version below, on the safety logic of the shared core and the
# decision code of the ElastiCache and MongoDB functions, each with its own tests. Writes one
# cargo-mutants output directory per crate under target/mutants/<crate>/ and the per-file table
# to target/mutants/summary.md (TESTING.md holds the figures and the survivors' reasons).
#
#   scripts/mutants.sh                        # rotation-core, rotation-elasticache, rotation-mongodb
#   scripts/mutants.sh rotation-core          # one crate
#   scripts/mutants.sh --in-place rotation-elasticache # options (starting with -) go to cargo mutants
#
# Without --in-place, cargo-mutants copies the workspace and builds it cold (several minutes
# per crate); --in-place mutates this checkout and restores each file after each mutant: use it
# only in a checkout nobody edits or builds meanwhile. One job (cargo-mutants' default) and
# CARGO_BUILD_JOBS=1 unless set: the run shares the machine. The judges need no service: the
# core's unit tests and its fake-engine tests (the in-memory store), and the ElastiCache and
# MongoDB crates' unit tests, since the files mutated there are pure decision code (their step
# logic, judged by the integration tests against moto and the servers, would take hours here).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

CRATES=()
OPTIONS=()
for arg in "$@"; do
  case "$arg" in
    -*) OPTIONS+=("$arg") ;;
    *) CRATES+=("$arg") ;;
  esac
done
[ ${#CRATES[@]} -gt 0 ] || CRATES=(rotation-core rotation-elasticache rotation-mongodb)

# What each crate's run mutates (--file, globs from the repository root) and which of its
# tests judge the mutants (after the test tool's own arguments).
files_of() {
  case "$1" in
    rotation-core)
      echo shared/src/labels.rs shared/src/dispatch.rs shared/src/steps.rs \
        shared/src/database/single_user.rs shared/src/database/alternating.rs \
        shared/src/database/strategy.rs shared/src/database/superuser.rs ;;
    rotation-elasticache)
      echo functions/elasticache/src/auth.rs functions/elasticache/src/secret.rs \
        functions/elasticache/src/api.rs ;;
    rotation-mongodb)
      echo functions/mongodb/src/privileges.rs functions/mongodb/src/access.rs ;;
    *) die "unknown crate $1 (rotation-core, rotation-elasticache, rotation-mongodb)" ;;
  esac
}
# Left out everywhere (--exclude-re): Debug implementations, which only format for people
# (and leave secrets out, which the log-leak tests check on the real output).
EXCLUDE='<impl std::fmt::Debug for '
# The tests that judge: the core's unit tests and its fake-engine integration tests (the
# panic guard and the secret parser's properties share that binary); the function crates'
# unit tests (the files mutated there are pure).
test_args_of() {
  case "$1" in
    rotation-core) echo --lib --test it ;;
    rotation-mongodb | rotation-elasticache) echo --lib ;;
  esac
}

# cargo-mutants at its pin (lib.sh), installed on first use into the tools directory (about 10
# minutes on one core), never a floating version.
MUTANTS="$CARGO_TOOLS/bin/cargo-mutants"
if ! { [ -x "$MUTANTS" ] && "$MUTANTS" mutants --version | grep -qx "cargo-mutants $CARGO_MUTANTS_PIN"; }; then
  log "installing cargo-mutants $CARGO_MUTANTS_PIN into $CARGO_TOOLS"
  CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}" cargo install --locked --version "$CARGO_MUTANTS_PIN" \
    --root "$CARGO_TOOLS" cargo-mutants
fi
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

# nextest when the machine has it (its `mutants` profile stops at the first failure);
# cargo test otherwise.
TEST_TOOL=(--test-tool cargo)
NEXTEST_PROFILE=()
if cargo nextest --version >/dev/null 2>&1; then
  TEST_TOOL=(--test-tool nextest)
  NEXTEST_PROFILE=(--cargo-test-arg=--profile=mutants)
fi

for crate in "${CRATES[@]}"; do files_of "$crate" >/dev/null; done

mkdir -p target/mutants
for crate in "${CRATES[@]}"; do
  args=(mutants --package "$crate" --output "target/mutants/$crate" "${TEST_TOOL[@]}"
    "${NEXTEST_PROFILE[@]}" --no-shuffle --jobserver-tasks 1)
  for f in $(files_of "$crate"); do args+=(--file "$f"); done
  args+=(--exclude-re "$EXCLUDE")
  for a in $(test_args_of "$crate"); do args+=("--cargo-test-arg=$a"); done
  log "cargo mutants on $crate ($(files_of "$crate" | wc -w) files)"
  START=$SECONDS
  # Exit codes 2 (missed mutants) and 3 (timeouts) are results, not failures of the run.
  status=0
  "$MUTANTS" "${args[@]}" "${OPTIONS[@]}" || status=$?
  case $status in 0 | 2 | 3) ;; *) die "cargo mutants on $crate failed (exit $status)" ;; esac
  log "  ... $crate in $((SECONDS - START)) s"
done

python3 "$REPO_ROOT/scripts/mutants_summary.py" target/mutants >target/mutants/summary.md
cat target/mutants/summary.md
