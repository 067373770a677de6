#!/usr/bin/env bash
# The release bundle: what a deployer needs without a Rust toolchain. Builds every rotation
# type's function with `sam build` from its own template (packaging/templates/<SAR app>.yaml:
# cargo lambda, the release profile, glibc 2.26), then writes to dist/ (or --out DIR), per type,
# <SAR app>.zip (`bootstrap` alone) and <SAR app>.yaml (that template with CodeUri pointing at
# the zip), plus README.md and SHA256SUMS. Deploying from it: README, "Deploy one rotation type".
#
#   scripts/package.sh [--out DIR] [--no-build]
#
# --no-build packages the builds already under .aws-sam/types/ (scripts/test.sh builds them).
# The build needs the tools venv (scripts/setup.sh installs it) and, from nothing, about
# 20 minutes on 2 cores; its cargo target directory is kept between runs ($SAM_TARGET_DIR).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

OUT=dist
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

if [ "$BUILD" = 1 ]; then
  [ -x "$VENV/bin/sam" ] || "$REPO_ROOT/scripts/setup.sh"
  use_tools
  build_types
fi
"$VENV/bin/python3" scripts/package.py --builds .aws-sam/types --out "$OUT"
"$REPO_ROOT/scripts/check-glibc.sh" --bundle "$OUT"
