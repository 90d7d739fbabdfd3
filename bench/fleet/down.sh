#!/bin/bash
# Stops the fleet started by up.sh: each listener by the PID it recorded (checked against its
# command line first: pids wrap), then any session sshd still running under those listeners.
# Kills nothing else. `down.sh --purge` also deletes the fleet's state (keys, homes, roots).
set -uo pipefail
FLEET=${BERTH_FLEET_DIR:-/tmp/berth-fleet}
[ -d "$FLEET" ] || exit 0
stopped=0
for pidfile in "$FLEET"/h*/sshd.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-f $FLEET/"; then
    # Sessions are children of the listener: stop them first, then the listener.
    for child in $(pgrep -P "$pid" 2>/dev/null); do kill "$child" 2>/dev/null; done
    kill "$pid" 2>/dev/null && stopped=$((stopped + 1))
  fi
  rm -f "$pidfile"
done
echo "fleet: stopped $stopped sshd listeners"
# The accounting cgroup goes once its processes have (rmdir refuses while any remain).
for _ in 1 2 3 4 5 6 7 8 9 10; do
  [ -d /sys/fs/cgroup/cpuacct/berth-fleet ] || break
  rmdir /sys/fs/cgroup/cpuacct/berth-fleet 2>/dev/null && break
  sleep 0.2
done
if [ "${1:-}" = --purge ]; then
  rm -rf "$FLEET"
  echo "fleet: removed $FLEET"
fi
