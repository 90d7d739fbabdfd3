#!/bin/bash
# Starts a fleet of N lightweight SSH "hosts" on this machine: one sshd per host, listening on
# its own loopback address (127.0.1.1 ... 127.0.1.N, or 127.0.X.Y past 254), each with its own
# host key, its own HOME (a fresh copy of /etc/skel, so both tools keep their per-host caches
# apart as on real machines) and its own workload root. Everyone logs in as the user `fleet`
# (stock dotfiles: a slow shell profile would distort every figure) with one generated key.
#
#   bench/fleet/up.sh N        # idempotent: hosts already up stay up, missing ones start
#   bench/fleet/down.sh        # stops every sshd this fleet started, by PID
#
# Writes $FLEET/fleet.json (hosts, key, known_hosts) for the benchmark, plus ready-made
# inventories: $FLEET/inventory.yml (berth) and $FLEET/hosts.ini (Ansible).
set -euo pipefail
N=${1:?usage: up.sh N}
FLEET=${BERTH_FLEET_DIR:-/tmp/berth-fleet}
PORT=${BERTH_FLEET_PORT:-2222}   # not 22: an sshd on 0.0.0.0:22 (if any) would shadow ours
USER_NAME=fleet
here=$(cd "$(dirname "$0")" && pwd)

[ "$(id -u)" = 0 ] || { echo "up.sh: run as root (it creates a user and starts sshd)" >&2; exit 1; }
"$here/packages.sh"
mkdir -p "$FLEET" /run/sshd
chmod 0755 /run/sshd

# The login user: a plain account whose home comes from /etc/skel. Its real home holds only
# authorized_keys; each host's sessions get their own HOME (see SetEnv below).
if ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd --create-home --skel /etc/skel --shell /bin/bash "$USER_NAME"
fi
# useradd leaves the password "!" (locked), and sshd without PAM refuses locked accounts even
# for key logins; "*" means "no password" without locking.
usermod -p '*' "$USER_NAME"
home=$(getent passwd "$USER_NAME" | cut -d: -f6)
if [ ! -f "$FLEET/id_ed25519" ]; then
  ssh-keygen -q -t ed25519 -N '' -C berth-fleet -f "$FLEET/id_ed25519"
fi
install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$home/.ssh"
install -m 0600 -o "$USER_NAME" -g "$USER_NAME" "$FLEET/id_ed25519.pub" "$home/.ssh/authorized_keys"

# Every sshd of the fleet, and so every session and agent under it, is accounted in one cpuacct
# cgroup: the benchmark reads the hosts' CPU time apart from the controller's and from
# whatever else runs on this machine.
CG=/sys/fs/cgroup/cpuacct/berth-fleet
mkdir -p "$CG" 2>/dev/null || CG=

address() { # host i -> 127.0.1.1 ... 127.0.1.254, 127.0.2.1 ...
  local i=$(($1 - 1))
  echo "127.0.$((1 + i / 254)).$((1 + i % 254))"
}

alive() { # pid file -> is that pid still our sshd? (pids wrap fast on a busy machine)
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-f $FLEET/"
}

for i in $(seq 1 "$N"); do
  h="$FLEET/h$i"
  addr=$(address "$i")
  mkdir -p "$h"
  [ -f "$h/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "h$i" -f "$h/ssh_host_ed25519_key"
  if [ ! -d "$h/home" ]; then
    cp -r /etc/skel "$h/home"
    chown -R "$USER_NAME:$USER_NAME" "$h/home"
  fi
  install -d -o "$USER_NAME" -g "$USER_NAME" "$h/root"
  cat > "$h/sshd_config.new" <<CFG
ListenAddress $addr:$PORT
HostKey $h/ssh_host_ed25519_key
PidFile $h/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers $USER_NAME
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
# Per-host HOME: ~/.ansible/tmp and ~/.berth stay per host, as on separate machines.
SetEnv HOME=$h/home
# Both tools open many sessions at once on a cold start (Ansible's forks, berth's exec channels).
MaxStartups 200:30:400
MaxSessions 50
UseDNS no
PrintMotd no
Subsystem sftp internal-sftp
# VERBOSE logs one line per login and per session (exec channel): the benchmark counts them.
LogLevel VERBOSE
CFG
  changed=1
  cmp -s "$h/sshd_config.new" "$h/sshd_config" && changed=0
  mv "$h/sshd_config.new" "$h/sshd_config"
  if alive "$h/sshd.pid"; then
    [ -n "$CG" ] && cat "$h/sshd.pid" > "$CG/cgroup.procs"
    # A listener started with an older config re-reads it (sshd re-executes itself on HUP).
    [ "$changed" = 1 ] && kill -HUP "$(cat "$h/sshd.pid")"
    continue
  fi
  # -D: sshd stays in the foreground, so the PID we record is the listener itself.
  setsid /usr/sbin/sshd -D -f "$h/sshd_config" -E "$h/sshd.log" < /dev/null > /dev/null 2>&1 &
  echo $! > "$h/sshd.pid"
  [ -n "$CG" ] && echo $! > "$CG/cgroup.procs"
done

# known_hosts for exactly these hosts, and the fleet's description for the benchmark.
: > "$FLEET/known_hosts.tmp"
for i in $(seq 1 "$N"); do
  echo "[$(address "$i")]:$PORT $(cut -d' ' -f1,2 "$FLEET/h$i/ssh_host_ed25519_key.pub")" >> "$FLEET/known_hosts.tmp"
done
mv "$FLEET/known_hosts.tmp" "$FLEET/known_hosts"

{
  echo "{\"n\": $N, \"cpuacct\": \"$CG\", \"port\": $PORT, \"user\": \"$USER_NAME\", \"dir\": \"$FLEET\", \"key\": \"$FLEET/id_ed25519\", \"knownHosts\": \"$FLEET/known_hosts\", \"hosts\": ["
  for i in $(seq 1 "$N"); do
    sep=,; [ "$i" = "$N" ] && sep=
    echo "  {\"name\": \"h$i\", \"address\": \"$(address "$i")\", \"root\": \"$FLEET/h$i/root\", \"home\": \"$FLEET/h$i/home\"}$sep"
  done
  echo "]}"
} > "$FLEET/fleet.json"

{
  echo "ssh: { user: $USER_NAME, key: $FLEET/id_ed25519, known_hosts: $FLEET/known_hosts }"
  echo "hosts:"
  for i in $(seq 1 "$N"); do echo "  h$i: { address: $(address "$i"), port: $PORT, vars: { root: $FLEET/h$i/root } }"; done
} > "$FLEET/inventory.yml"
{
  echo "[fleet]"
  for i in $(seq 1 "$N"); do echo "h$i ansible_host=$(address "$i") ansible_port=$PORT root=$FLEET/h$i/root"; done
  echo "[fleet:vars]"
  echo "ansible_user=$USER_NAME"
  echo "ansible_ssh_private_key_file=$FLEET/id_ed25519"
  echo "ansible_python_interpreter=/usr/bin/python3"
} > "$FLEET/hosts.ini"

# Ready when every host answers (checked in parallel: one login each); a listener that died
# (port taken, bad config) is named with the end of its log.
ready() {
  local i=$1 h="$FLEET/h$1"
  for _ in $(seq 1 100); do
    ssh -q -o BatchMode=yes -o ConnectTimeout=5 -o UserKnownHostsFile="$FLEET/known_hosts" -o StrictHostKeyChecking=yes \
      -i "$FLEET/id_ed25519" -p "$PORT" "$USER_NAME@$(address "$i")" true 2>/dev/null && return 0
    alive "$h/sshd.pid" || { echo "up.sh: sshd of h$i exited: $(tail -3 "$h/sshd.log" 2>/dev/null)" >&2; return 1; }
    sleep 0.1
  done
  echo "up.sh: h$i ($(address "$i"):$PORT) does not answer" >&2
  return 1
}
checks=()
for i in $(seq 1 "$N"); do
  ready "$i" &
  checks+=($!)
  # A few at a time: a hundred simultaneous logins would only measure this machine's scheduler.
  if [ ${#checks[@]} -ge 10 ]; then wait "${checks[0]}" || exit 1; checks=("${checks[@]:1}"); fi
done
for pid in "${checks[@]}"; do wait "$pid" || exit 1; done
echo "fleet: $N hosts up ($(address 1) ... $(address "$N"), port $PORT, user $USER_NAME, state in $FLEET)"
