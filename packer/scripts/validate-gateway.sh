#!/usr/bin/env bash
# Fail the build unless the image is clean and has what a gateway needs.
# Env: VENV (the virtualenv), GATEWAY_SERVICE (its systemd unit).
set -euo pipefail

fail() {
  echo "validate: $*" >&2
  exit 1
}

if compgen -G '/etc/ssh/ssh_host_*' >/dev/null; then
  fail "SSH host keys left in the image"
fi
keys="$(find /root /home -type f -name authorized_keys)"
[[ -z "$keys" ]] || fail "authorized_keys left in the image: $keys"

"${VENV}/bin/python" -c 'import gateway.app, videoforge.services' ||
  fail "the gateway does not import from ${VENV}"
systemctl is-enabled --quiet "${GATEWAY_SERVICE}" || fail "${GATEWAY_SERVICE} is not enabled"
grep -q '^VF_GATEWAY_MODE="proxy"$' /etc/videoforge/gateway.env ||
  fail "the gateway is not in proxy mode"

echo "validate: ok"
