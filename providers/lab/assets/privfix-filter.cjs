// berth-privfix filter, run by the berth-privfix runc wrapper before `runc create|run|exec`.
// Why: on some VMs the capability bounding set lacks a capability (e.g. CAP_SYS_RESOURCE), while
// Docker asks for every capability the kernel knows when a container is --privileged, so runc
// fails with "unable to apply caps". Dropping from the bundle's config.json the capabilities this
// machine cannot grant anyway lets privileged containers start with /sys and cgroups writable.
'use strict';
const fs = require('fs');
const path = require('path');

// Linux capability numbers (include/uapi/linux/capability.h), index = bit.
const CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

// `create`/`run` read the bundle's config.json; `exec` (docker exec) reads a process.json given
// with --process, which carries its own capabilities.
const args = process.argv.slice(2);
let bundle = '.';
let processFile;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--bundle' || a === '-b') bundle = args[i + 1];
  else if (a.startsWith('--bundle=')) bundle = a.slice('--bundle='.length);
  else if (a === '--process' || a === '-p') processFile = args[i + 1];
  else if (a.startsWith('--process=')) processFile = a.slice('--process='.length);
}
const isExec = args.includes('exec');
if (isExec && !processFile) process.exit(0);
const file = isExec ? processFile : path.join(bundle, 'config.json');
const status = fs.readFileSync('/proc/self/status', 'utf8');
const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
if (!m) process.exit(0);
const bounding = BigInt('0x' + m[1]);
const grantable = (name) => {
  const bit = CAPS.indexOf(name);
  return bit < 0 || ((bounding >> BigInt(bit)) & 1n) === 1n;
};

const config = JSON.parse(fs.readFileSync(file, 'utf8'));
const caps = isExec ? config.capabilities : config.process && config.process.capabilities;
if (!caps) process.exit(0);
let changed = false;
for (const set of Object.keys(caps)) {
  if (!Array.isArray(caps[set])) continue;
  const kept = caps[set].filter(grantable);
  if (kept.length !== caps[set].length) {
    caps[set] = kept;
    changed = true;
  }
}
if (changed) {
  const tmp = file + '.berth-privfix';
  fs.writeFileSync(tmp, JSON.stringify(config));
  fs.renameSync(tmp, file);
}
