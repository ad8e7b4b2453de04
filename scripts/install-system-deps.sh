#!/usr/bin/env bash
# Install the Debian/Ubuntu packages VideoForge needs, only those that are missing.
# Usage: scripts/install-system-deps.sh [demo|test]
#   demo: ffmpeg and npm (the web page's packages).  test: also packer, prometheus (promtool), debootstrap, chromium.
set -euo pipefail

profile="${1:-demo}"
declare -A wanted=([ffmpeg]=ffmpeg [ffprobe]=ffmpeg [npm]=npm)
if [[ "$profile" == "test" ]]; then
  wanted+=([packer]=packer [promtool]=prometheus [prometheus]=prometheus
           [debootstrap]=debootstrap [chromium]=chromium)
fi

missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing ${missing[*]} and no apt-get here; install them by hand" >&2
  exit 1
fi
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "installing: ${packages[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
