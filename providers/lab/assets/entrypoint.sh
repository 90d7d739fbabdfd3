#!/bin/sh
# PID 2 of a berth lab host (tini is PID 1 and reaps orphans, e.g. a dockerd the agent starts).
# Gives the host its own SSH host key on first start, authorises the lab key for root and the
# `berth` user, then runs sshd in the foreground.
set -eu

if [ ! -s /etc/ssh/ssh_host_ed25519_key ]; then
  ssh-keygen -q -t ed25519 -N '' -C "root@$(hostname)" -f /etc/ssh/ssh_host_ed25519_key
fi

if [ -n "${BERTH_AUTHORIZED_KEY:-}" ]; then
  for home in /root /home/berth; do
    owner=$(stat -c %U "$home")
    mkdir -p "$home/.ssh"
    printf '%s\n' "$BERTH_AUTHORIZED_KEY" > "$home/.ssh/authorized_keys"
    chmod 700 "$home/.ssh"
    chmod 600 "$home/.ssh/authorized_keys"
    chown -R "$owner:$owner" "$home/.ssh"
  done
fi

mkdir -p /run/sshd
chmod 0755 /run/sshd
exec /usr/sbin/sshd -D -e
