#!/usr/bin/env bash
# The README's main job: bring up the sandbox, create the demo secret in the Secrets Manager
# emulator, start a rotation as RotateSecret does, rotate it by invoking the generic function
# with `cargo lambda invoke` and the sample events in events/, and print the version/label
# table before and after. Cleans up on exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

use_tools
export ROTATION_SANDBOX_DIR="$REPO_ROOT/.sandbox/demo"
WATCH_PID=""
cleanup() {
  if [ -n "$WATCH_PID" ]; then kill -- "-$WATCH_PID" 2>/dev/null || kill "$WATCH_PID" 2>/dev/null || true; fi
  "$REPO_ROOT/scripts/sandbox.sh" stop
}
trap cleanup EXIT
"$REPO_ROOT/scripts/sandbox.sh" start
# shellcheck disable=SC1091
source "$ROTATION_SANDBOX_DIR/env"

SECRET=$(python3 -c 'import json; print(json.load(open("events/createSecret.json"))["SecretId"])')
TOKEN=$(python3 -c 'import json; print(json.load(open("events/createSecret.json"))["ClientRequestToken"])')

log "building the demo helpers and the generic function"
cargo build -q --locked -p rotation-testkit --bin sandbox-secrets -p generic
secrets() { "$REPO_ROOT/target/debug/sandbox-secrets" "$@"; }

log "creating the demo secret $SECRET"
secrets create "$SECRET" '{"username":"demo","password":"initial-demo-password","engine":"generic-demo","port":8443,"team":"unknown keys are kept"}' >/dev/null
secrets start "$SECRET" "$TOKEN"
echo; echo "Before rotation (RotateSecret has created the AWSPENDING placeholder):"; secrets table "$SECRET"; echo

PORT=$(free_port)
log "starting cargo lambda watch on 127.0.0.1:$PORT"
set -m
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$PORT" \
  --env-var "SECRETS_MANAGER_ENDPOINT=$MOTO_ENDPOINT,AWS_ACCESS_KEY_ID=test,AWS_SECRET_ACCESS_KEY=test,AWS_REGION=us-east-1,AWS_EC2_METADATA_DISABLED=true" \
  >"$ROTATION_SANDBOX_DIR/watch.log" 2>&1 &
WATCH_PID=$!
set +m
wait_port "$PORT" 120 || { cat "$ROTATION_SANDBOX_DIR/watch.log"; die "cargo lambda watch did not start"; }

for step in createSecret setSecret testSecret finishSecret; do
  log "cargo lambda invoke generic --data-file events/$step.json"
  if ! cargo lambda invoke generic --invoke-address 127.0.0.1 --invoke-port "$PORT" \
      --data-file "events/$step.json"; then
    echo "--- function log ---"; tail -20 "$ROTATION_SANDBOX_DIR/watch.log"
    die "$step failed"
  fi
  echo
done

echo; echo "After rotation:"; secrets table "$SECRET"
echo; echo "Function log (one JSON summary line per step):"
grep -h '"rotation step' "$ROTATION_SANDBOX_DIR/watch.log" || true
