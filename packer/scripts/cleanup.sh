#!/usr/bin/env bash
# Remove what must not ship in an image: SSH host keys and authorized keys (cloud-init
# makes new ones per instance), the machine id, caches, logs and shell history.
set -euo pipefail

rm -f /etc/ssh/ssh_host_*
find /root /home -type f -name authorized_keys -delete

# An empty machine-id makes systemd generate a fresh one on first boot.
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id

apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/*
rm -f /root/.bash_history /home/*/.bash_history

if command -v cloud-init >/dev/null; then
  cloud-init clean --logs
fi
if command -v journalctl >/dev/null && [[ -d /run/systemd/system ]]; then
  journalctl --rotate --vacuum-time=1s
fi
find /var/log -type f -exec truncate -s 0 {} +
