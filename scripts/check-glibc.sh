#!/usr/bin/env bash
# Fails unless every function has exactly its one bootstrap and none needs a glibc symbol newer
# than 2.26 (the version provided.al2 ships; such a binary would not start there).
#
#   scripts/check-glibc.sh SAM_BUILD_DIR...   each a `sam build` output (template.yaml + a
#                                             directory per build): every function of the built
#                                             template has its bootstrap, and no other is there
#   scripts/check-glibc.sh --bundle DIR       the release bundle: one <SAR app>.zip per rotation
#                                             type, each holding its bootstrap
set -euo pipefail
source "$(dirname "$0")/lib.sh"
max_allowed=2.26
checked=0

check_binary() {
  local bin=$1 label=$2 newest size
  newest=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  size=$(stat -c %s "$bin")
  if [ -z "$newest" ] || [ "$(printf '%s\n%s\n' "$newest" "$max_allowed" | sort -V | tail -1)" != "$max_allowed" ]; then
    echo "FAIL $label needs GLIBC_${newest:-?} (> $max_allowed)" >&2
    exit 1
  fi
  checked=$((checked + 1))
  echo "ok   $label: newest glibc symbol GLIBC_$newest, $size bytes"
}

if [ "${1:-}" = "--bundle" ]; then
  dir=$(cd "${2:?--bundle needs the bundle directory}" && pwd)
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  want=0
  for app in $(rotation_apps); do
    want=$((want + 1))
    [ -f "$dir/$app.zip" ] || { echo "FAIL $dir/$app.zip is missing" >&2; exit 1; }
    mkdir "$tmp/$app"
    (cd "$tmp/$app" && "$VENV/bin/python3" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall()' "$dir/$app.zip")
    [ -f "$tmp/$app/bootstrap" ] || { echo "FAIL $dir/$app.zip holds no bootstrap" >&2; exit 1; }
    check_binary "$tmp/$app/bootstrap" "$dir/$app.zip"
  done
  extra=$(find "$dir" -maxdepth 1 -name '*.zip' | wc -l)
  [ "$extra" -eq "$want" ] || { echo "FAIL $dir holds $extra zips for $want rotation types" >&2; exit 1; }
  echo "glibc: $checked bootstraps, one per rotation type"
  exit 0
fi

[ $# -gt 0 ] || { echo "usage: $0 SAM_BUILD_DIR... | --bundle DIR" >&2; exit 2; }
for build in "$@"; do
  # The functions of the built template and the directory each one's CodeUri names.
  functions=$("$VENV/bin/python3" - "$build/template.yaml" <<'PY'
import sys
from cfnlint.decode import cfn_yaml
template = cfn_yaml.load(sys.argv[1])
for name, r in template["Resources"].items():
    if r["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        print(name, r["Properties"].get("CodeUri", ""))
PY
)
  [ -n "$functions" ] || { echo "FAIL $build/template.yaml has no function" >&2; exit 1; }
  # Functions built from the same crate and binary share one build directory (SAM builds a
  # definition once), so: every function's directory holds its bootstrap, and every bootstrap
  # there belongs to a function.
  dirs=""
  while read -r name code; do
    [ -f "$build/$code/bootstrap" ] || { echo "FAIL $build: function $name has no bootstrap in $code/" >&2; exit 1; }
    case " $dirs " in *" $code "*) echo "ok   $name: $build/$code/bootstrap (checked above)"; continue ;; esac
    dirs="$dirs $code"
    check_binary "$build/$code/bootstrap" "$build/$code/bootstrap ($name)"
  done <<<"$functions"
  count=$(wc -w <<<"$dirs")
  found=$(find "$build" -name bootstrap -type f | wc -l)
  [ "$found" -eq "$count" ] || { echo "FAIL $build holds $found bootstraps for the $count build directories its functions name" >&2; exit 1; }
done
echo "glibc: $checked bootstraps; every function has its own or shares its build's"
