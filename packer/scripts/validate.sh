#!/usr/bin/env bash
# Fail the build unless the image is clean and has what a worker needs.
# Env: FFMPEG_VERSION (series, e.g. 6.1), VENV (the worker's virtualenv), WORKER_SERVICE.
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

version="$(ffmpeg -hide_banner -version | head -n 1)"
[[ "$version" == "ffmpeg version ${FFMPEG_VERSION}."* || "$version" == "ffmpeg version ${FFMPEG_VERSION}-"* ]] ||
  fail "expected FFmpeg ${FFMPEG_VERSION}, found: $version"
command -v ffprobe >/dev/null || fail "ffprobe missing"

"${VENV}/bin/videoforge" --help >/dev/null || fail "videoforge does not run from ${VENV}"
for unit in "${WORKER_SERVICE}" videoforge-runtime-env; do
  systemctl is-enabled --quiet "${unit}" || fail "${unit} is not enabled"
done

echo "validate: ok (${version})"
