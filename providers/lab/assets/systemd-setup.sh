#!/bin/sh
# What entrypoint.sh does on tini hosts, on a host that boots systemd: run once per boot by
# berth-lab-setup.service, before sshd. Gives the host its own SSH host key on first boot and
# authorises the lab key for root and the `berth` user. The key comes in the container's
# environment, which systemd keeps to itself: it is read from PID 1's.
set -eu

if [ ! -s /etc/ssh/ssh_host_ed25519_key ]; then
  ssh-keygen -q -t ed25519 -N '' -C "root@$(hostname)" -f /etc/ssh/ssh_host_ed25519_key
fi

key=$(tr '\0' '\n' < /proc/1/environ | sed -n 's/^BERTH_AUTHORIZED_KEY=//p')
if [ -n "$key" ]; then
  for home in /root /home/berth; do
    owner=$(stat -c %U "$home")
    mkdir -p "$home/.ssh"
    printf '%s\n' "$key" > "$home/.ssh/authorized_keys"
    chmod 700 "$home/.ssh"
    chmod 600 "$home/.ssh/authorized_keys"
    chown -R "$owner:$owner" "$home/.ssh"
  done
fi
