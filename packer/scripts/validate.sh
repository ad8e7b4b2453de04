#!/usr/bin/env bash
# Fail the build unless the image is clean and has what its services need.
# Env: VENV (the virtualenv), SERVICES (systemd units that must be enabled), IMPORTS
# (Python modules the services run), FFMPEG_VERSION (series, e.g. 6.1; empty: no FFmpeg).
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

if [[ -n "${FFMPEG_VERSION}" ]]; then
  version="$(ffmpeg -hide_banner -version | head -n 1)"
  [[ "$version" == "ffmpeg version ${FFMPEG_VERSION}."* || "$version" == "ffmpeg version ${FFMPEG_VERSION}-"* ]] ||
    fail "expected FFmpeg ${FFMPEG_VERSION}, found: $version"
  command -v ffprobe >/dev/null || fail "ffprobe missing"
fi

"${VENV}/bin/videoforge" --help >/dev/null || fail "videoforge does not run from ${VENV}"
for module in ${IMPORTS}; do
  "${VENV}/bin/python" -c "import ${module}" || fail "${module} does not import from ${VENV}"
done
for unit in ${SERVICES} videoforge-runtime-env; do
  systemctl is-enabled --quiet "${unit}" || fail "${unit} is not enabled"
done
if [[ -f /etc/videoforge/gateway.env ]]; then
  grep -q '^VF_GATEWAY_MODE="proxy"$' /etc/videoforge/gateway.env ||
    fail "the gateway is not in proxy mode"
fi

echo "validate: ok"
