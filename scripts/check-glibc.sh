#!/usr/bin/env bash
# Fails if any bootstrap under DIR (default .aws-sam/build) needs a glibc symbol newer than
# 2.26, the version provided.al2 ships; such a binary would not start there.
set -euo pipefail
dir=${1:-.aws-sam/build}
max_allowed=2.26
found=0
while IFS= read -r -d '' bin; do
  found=$((found + 1))
  newest=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  size=$(stat -c %s "$bin")
  if [ "$(printf '%s\n%s\n' "$newest" "$max_allowed" | sort -V | tail -1)" != "$max_allowed" ]; then
    echo "FAIL $bin needs GLIBC_$newest (> $max_allowed)" >&2
    exit 1
  fi
  echo "ok   $bin: newest glibc symbol GLIBC_$newest, $size bytes"
done < <(find "$dir" -name bootstrap -type f -print0)
[ "$found" -gt 0 ] || { echo "no bootstrap found under $dir" >&2; exit 1; }
