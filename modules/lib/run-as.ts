// `become_user`: the agent (root) runs a task's program as another user. A launcher run by the
// agent's own Node takes on the user's groups (initgroups), gid and uid, then starts the program
// and passes its exit status and signals through.
// Why not `sudo -u`: sudo is not installed everywhere (a minimal Debian has none), and its
// env_reset would drop the task's `environment`. Why not spawn's own uid/gid options: libuv
// then drops every supplementary group, so a user in the `docker` group could not reach the
// engine. The launcher needs nothing on the host but the Node the agent already runs on.
import type { WireError } from '../../protocol/agent-protocol.js';
import { getent } from './ids.js';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The account a task runs as, read fresh: an earlier task of the plan may have created it. */
export async function lookupRunAs(name: string): Promise<{ ok: true; value: RunAs } | { ok: false; error: WireError }> {
  const found = await getent('passwd', name);
  if (!found || found.fields.length < 6) return { ok: false, error: { code: 'become.unknown-user', message: `become_user: there is no user "${name}" on this host` } };
  return { ok: true, value: { name: found.name, uid: found.id, gid: Number(found.fields[3]), home: found.fields[5] || '/' } };
}

// CommonJS (what `node -e` runs): argv is [uid, gid, name, program, ...args].
const LAUNCHER = `
const [uid, gid, name, ...argv] = process.argv.slice(1);
process.initgroups(name, Number(gid));
process.setgid(Number(gid));
process.setuid(Number(uid));
const child = require('node:child_process').spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => child.kill(s));
child.on('error', (e) => { process.stderr.write('cannot run ' + argv[0] + ': ' + e.message + '\\n'); process.exit(127); });
child.on('exit', (code, signal) => {
  if (signal) { process.removeAllListeners(signal); process.kill(process.pid, signal); }
  process.exit(code ?? 1);
});
`;

/** The argv that runs `argv` as the user. */
export const asUser = (user: RunAs, argv: string[]): string[] => [process.execPath, '-e', LAUNCHER, String(user.uid), String(user.gid), user.name, ...argv];

/** What a login as the user would set; the task's own `environment` still wins over it. */
export const userEnv = (user: RunAs): Record<string, string> => ({ HOME: user.home, USER: user.name, LOGNAME: user.name });
