// What a lab host is made of. Every input that changes the result is part of a hash, and the
// hash names the cache entries and the image tag: change the recipe and berth rebuilds; keep it
// and a second `lab up` finds everything ready.
import { createHash } from 'node:crypto';
import { readAsset } from './assets.js';

/** Bump to force a rebuild when something outside the lists below changes. */
export const RECIPE_VERSION = 1;
export const SUITE = 'bookworm';

const mirror = (): string => process.env.BERTH_LAB_MIRROR || 'http://deb.debian.org/debian';
const securityMirror = (): string => process.env.BERTH_LAB_SECURITY_MIRROR || 'http://deb.debian.org/debian-security';

/** The hosts' apt sources; the apt repository is resolved against the same ones, so versions agree. */
export const sources = (): string[] => [
  `deb ${mirror()} ${SUITE} main`,
  `deb ${mirror()} ${SUITE}-updates main`,
  `deb ${securityMirror()} ${SUITE}-security main`,
];

/**
 * Packages of the host image. No nodejs (berth pushes its own agent runtime) and no Docker (the
 * agent installs it from the lab apt repository, as on a real fresh host). tini is PID 1 so that
 * orphans get reaped; python3 lets Ansible, the peer berth is benchmarked against, run on hosts.
 */
export const HOST_PACKAGES = [
  'openssh-server', 'openssh-sftp-server', 'sudo', 'iproute2', 'procps', 'ca-certificates', 'curl', 'less',
  'iputils-ping', 'gzip', 'xz-utils', 'tini', 'python3',
];

/**
 * Packages the lab apt repository serves, with whatever they need that the image lacks. nodejs
 * (Node 18 on bookworm) is for hosts started with Debian's own Node (host-node.ts).
 */
export const APT_REPO_PACKAGES = ['docker.io', 'busybox-static', 'haproxy', 'nodejs'];

/**
 * What runs as PID 1 of a host: tini (sshd and whatever the agent starts, no init system; the
 * default, quick to start) or systemd (booted like a Debian server: units, docker.service,
 * journald; `docker restart` of the host is a reboot).
 */
export const HOST_INITS = ['tini', 'systemd'] as const;
export type HostInit = (typeof HOST_INITS)[number];

/** The choices a host image is built for; one image (and cache entry) per distinct recipe. */
export interface HostRecipe {
  init: HostInit;
}
export const DEFAULT_RECIPE: HostRecipe = { init: 'tini' };

/** systemd as /sbin/init, and dbus for systemctl and logind, as on a Debian server. */
export const SYSTEMD_PACKAGES = ['systemd', 'systemd-sysv', 'dbus'];

export const hostPackages = (r: HostRecipe): string[] => (r.init === 'systemd' ? [...HOST_PACKAGES, ...SYSTEMD_PACKAGES] : HOST_PACKAGES);

/** mmdebstrap's argv; OUT and STATUS_DIR are placeholders so that the hash does not depend on paths. */
export function mmdebstrapArgs(out = 'OUT', statusDir = 'STATUS_DIR', r: HostRecipe = DEFAULT_RECIPE): string[] {
  return [
    'mmdebstrap',
    '--variant=minbase',
    '--mode=auto',
    `--include=${hostPackages(r).join(',')}`,
    '--aptopt=Acquire::Retries "3"',
    // Docs, man pages and translations are dead weight in a test host; copyright files stay.
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    // Host keys made at build time would be shared by every host; the entrypoint makes its own.
    '--customize-hook=rm -f "$1"/etc/ssh/ssh_host_*',
    // The same goes for the machine id: systemd makes one on each host's first boot.
    ...(r.init === 'systemd' ? ['--customize-hook=: > "$1"/etc/machine-id'] : []),
    `--customize-hook=copy-out /var/lib/dpkg/status ${statusDir}`,
    SUITE,
    out,
    ...sources(),
  ];
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Names the rootfs tarball and the base image. */
export const rootfsHash = (r: HostRecipe = DEFAULT_RECIPE): string =>
  sha(JSON.stringify({ v: RECIPE_VERSION, argv: mmdebstrapArgs('OUT', 'STATUS_DIR', r), packages: hostPackages(r) }));

export const ENTRYPOINT = '/usr/local/sbin/berth-entrypoint';
/** On systemd hosts: the boot-time unit that does what the entrypoint does before sshd. */
export const SETUP_SCRIPT = '/usr/local/sbin/berth-lab-setup';
export const SETUP_UNIT = 'berth-lab-setup.service';

/** The assets the layer's Dockerfile copies in (its build context). */
export const layerAssets = (r: HostRecipe): string[] =>
  r.init === 'systemd' ? ['systemd-setup.sh', 'berth-lab-setup.service', 'sshd-berth-lab.conf'] : ['entrypoint.sh', 'sshd-berth-lab.conf'];

// A password of '*' (not '!') keeps sshd from treating the key-only user as locked.
// pam_loginuid cannot always write the login uid in a container; a failure must not end sessions.
const users =
  'useradd --create-home --shell /bin/bash berth; usermod -p "*" berth; ' +
  'printf "berth ALL=(ALL) NOPASSWD:ALL\\n" > /etc/sudoers.d/berth; chmod 0440 /etc/sudoers.d/berth; ' +
  'sed -i "s/^session\\s\\+required\\s\\+pam_loginuid.so/session optional pam_loginuid.so/" /etc/pam.d/sshd; ' +
  'mkdir -p /srv/berth-apt /var/lib/docker; ' +
  // A lab host has no internet, like a host behind a strict firewall: its only package
  // source is the lab repository (the inventory's berth_apt_repo), named by the playbook.
  'rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*';

// Units a container cannot or must not run: consoles (no tty to log in on), udev (the engine
// owns /dev), and what would change the machine the lab runs on through a privileged host's
// /proc/sys (most sysctls are not per container), its kernel modules or binfmt handlers. What
// stays is what a Debian server boots: journald, logind, dbus, sshd.
const MASKED = [
  'getty@.service', 'console-getty.service', 'systemd-firstboot.service',
  'systemd-udevd.service', 'systemd-udevd-control.socket', 'systemd-udevd-kernel.socket', 'systemd-udev-trigger.service',
  'systemd-sysctl.service', 'systemd-modules-load.service', 'systemd-binfmt.service', 'proc-sys-fs-binfmt_misc.automount',
];

export function dockerfile(base: string, r: HostRecipe = DEFAULT_RECIPE): string {
  if (r.init === 'systemd') return systemdDockerfile(base);
  return [
    `FROM ${base}`,
    `COPY entrypoint.sh ${ENTRYPOINT}`,
    'COPY sshd-berth-lab.conf /etc/ssh/sshd_config.d/berth-lab.conf',
    'RUN set -eu; chmod 0755 ' + ENTRYPOINT + '; rm -f /etc/ssh/ssh_host_*; ' + users,
    'EXPOSE 22',
    'LABEL berth.lab.image=host',
    `ENTRYPOINT ["/usr/bin/tini", "-g", "--", "${ENTRYPOINT}"]`,
    '',
  ].join('\n');
}

function systemdDockerfile(base: string): string {
  return [
    `FROM ${base}`,
    `COPY systemd-setup.sh ${SETUP_SCRIPT}`,
    `COPY berth-lab-setup.service /etc/systemd/system/${SETUP_UNIT}`,
    'COPY sshd-berth-lab.conf /etc/ssh/sshd_config.d/berth-lab.conf',
    `RUN set -eu; chmod 0755 ${SETUP_SCRIPT}; rm -f /etc/ssh/ssh_host_*; ${users}; ` +
      `systemctl enable ${SETUP_UNIT} ssh.service; systemctl mask ${MASKED.join(' ')}; systemctl set-default multi-user.target`,
    // systemd reads it to know it runs in a container (no hardware, no consoles to set up).
    'ENV container=docker',
    // What systemd takes as "shut down cleanly": `docker stop` and `docker restart` are a poweroff and a reboot.
    'STOPSIGNAL SIGRTMIN+3',
    'EXPOSE 22',
    'LABEL berth.lab.image=host',
    'LABEL berth.lab.init=systemd',
    'CMD ["/sbin/init"]',
    '',
  ].join('\n');
}

/** Names the final host image: the rootfs plus the layer on top. */
export const imageHash = (r: HostRecipe = DEFAULT_RECIPE): string =>
  r.init === 'systemd'
    ? sha(JSON.stringify({ rootfs: rootfsHash(r), dockerfile: dockerfile('BASE', r), assets: layerAssets(r).map((a) => [a, readAsset(a)]) }))
    : sha(JSON.stringify({ rootfs: rootfsHash(), dockerfile: dockerfile('BASE'), entrypoint: readAsset('entrypoint.sh'), sshd: readAsset('sshd-berth-lab.conf') }));
