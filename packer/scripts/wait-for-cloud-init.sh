#!/usr/bin/env bash
# Wait until cloud-init has finished the first boot, so apt does not race it.
set -euo pipefail

# Status 2 means done with recoverable errors (e.g. deprecated config keys): good enough.
status=0
cloud-init status --wait >/dev/null || status=$?
if [[ "$status" -ne 0 && "$status" -ne 2 ]]; then
  cloud-init status --long >&2 || true
  exit "$status"
fi
