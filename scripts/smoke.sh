#!/usr/bin/env bash
# The release smoke test alone (scripts/test.sh runs it too): every rotation type's shipped
# bootstrap, from the release bundle, through a cold start and a rotation against a private
# sandbox (scripts/smoke.py says what is checked).
#
#   scripts/smoke.sh [--bundle DIR] [--types A,B]   (default bundle: dist/, from scripts/package.sh)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

BUNDLE=dist
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) BUNDLE=${2:?--bundle needs a directory}; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[ -f "$BUNDLE/SHA256SUMS" ] || die "$BUNDLE is not a release bundle: run scripts/package.sh first"

use_tools
export ROTATION_SANDBOX_DIR="$REPO_ROOT/.sandbox/smoke"
trap '"$REPO_ROOT/scripts/sandbox.sh" stop' EXIT
"$REPO_ROOT/scripts/sandbox.sh" start
# shellcheck disable=SC1091
source "$ROTATION_SANDBOX_DIR/env"
run_smoke "$BUNDLE" "${ARGS[@]}"
