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

/** mmdebstrap's argv; OUT and STATUS_DIR are placeholders so that the hash does not depend on paths. */
export function mmdebstrapArgs(out = 'OUT', statusDir = 'STATUS_DIR'): string[] {
  return [
    'mmdebstrap',
    '--variant=minbase',
    '--mode=auto',
    `--include=${HOST_PACKAGES.join(',')}`,
    '--aptopt=Acquire::Retries "3"',
    // Docs, man pages and translations are dead weight in a test host; copyright files stay.
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    // Host keys made at build time would be shared by every host; the entrypoint makes its own.
    '--customize-hook=rm -f "$1"/etc/ssh/ssh_host_*',
    `--customize-hook=copy-out /var/lib/dpkg/status ${statusDir}`,
    SUITE,
    out,
    ...sources(),
  ];
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Names the rootfs tarball and the base image. */
export const rootfsHash = (): string => sha(JSON.stringify({ v: RECIPE_VERSION, argv: mmdebstrapArgs(), packages: HOST_PACKAGES }));

export const ENTRYPOINT = '/usr/local/sbin/berth-entrypoint';

export function dockerfile(base: string): string {
  return [
    `FROM ${base}`,
    `COPY entrypoint.sh ${ENTRYPOINT}`,
    'COPY sshd-berth-lab.conf /etc/ssh/sshd_config.d/berth-lab.conf',
    // A password of '*' (not '!') keeps sshd from treating the key-only user as locked.
    // pam_loginuid cannot always write the login uid in a container; a failure must not end sessions.
    'RUN set -eu; chmod 0755 ' + ENTRYPOINT + '; rm -f /etc/ssh/ssh_host_*; ' +
      'useradd --create-home --shell /bin/bash berth; usermod -p "*" berth; ' +
      'printf "berth ALL=(ALL) NOPASSWD:ALL\\n" > /etc/sudoers.d/berth; chmod 0440 /etc/sudoers.d/berth; ' +
      'sed -i "s/^session\\s\\+required\\s\\+pam_loginuid.so/session optional pam_loginuid.so/" /etc/pam.d/sshd; ' +
      'mkdir -p /srv/berth-apt /var/lib/docker; ' +
      // A lab host has no internet, like a host behind a strict firewall: its only package
      // source is the lab repository (the inventory's berth_apt_repo), named by the playbook.
      'rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*',
    'EXPOSE 22',
    'LABEL berth.lab.image=host',
    `ENTRYPOINT ["/usr/bin/tini", "-g", "--", "${ENTRYPOINT}"]`,
    '',
  ].join('\n');
}

/** Names the final host image: the rootfs plus the layer on top. */
export const imageHash = (): string =>
  sha(JSON.stringify({ rootfs: rootfsHash(), dockerfile: dockerfile('BASE'), entrypoint: readAsset('entrypoint.sh'), sshd: readAsset('sshd-berth-lab.conf') }));
