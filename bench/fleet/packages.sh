#!/bin/sh
# Installs the Debian packages the fleet and the Ansible comparison need, once: sshd for the
# fleet, Ansible and Mitogen for the peer runs, GNU time for the controllers' peak memory.
# apt may be busy with another engineer's install: wait for its lock rather than fail.
set -eu
need=""
for p in openssh-server openssh-client ansible ansible-mitogen time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
[ -z "$need" ] && exit 0
echo "fleet: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
# No init system here: policy-rc.d keeps the package from starting the system sshd on port 22.
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $need >/dev/null
