// The controller's SSH layer: resolve a host to a target, connect once, run commands.
export { resolveTarget, parseJumpSpec, describeTarget, labelTarget, type InventoryHost, type SshTarget, type ResolveOptions } from './target.js';
export { connect, acceptNewHostKeysFromEnv, type ConnectOptions } from './connect.js';
export { createSshPool, type SshPool } from './pool.js';
export type { SshSession, SshChannel, ExecResult, ExecOptions } from './session.js';
export { wrapBecome, shQuote } from './become.js';
export { fingerprint, knownHostsName } from './known-hosts.js';
export type { SshErrorCode } from './errors.js';
