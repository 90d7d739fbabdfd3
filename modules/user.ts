// `user`: a local account, through useradd/usermod/userdel; current state from the passwd and
// group databases (getent), compared field by field so a second run changes nothing.
import { existsSync } from 'node:fs';
import { runArgv } from './command.js';
import { defineModule, failed, type Change, type ModuleContext } from './contract.js';
import { capture } from './lib/exec.js';
import { getent } from './lib/ids.js';
import { userSchema, type UserParams } from './params/user.js';

export { userSchema, type UserParams };

export const user = defineModule({
  name: 'user',
  schema: userSchema,
  async plan(p, ctx) {
    const current = await getent('passwd', p.name);
    const run = (argv: string[]) => () => runArgv(argv, {}, ctx);
    if ((p.state ?? 'present') === 'absent') {
      if (!current) return { ok: true, changes: [] };
      return { ok: true, changes: [{ summary: `remove user ${p.name}${p.remove ? ' and its home' : ''}`, cause: 'exists', apply: run(['userdel', ...(p.remove ? ['-r'] : []), p.name]) }] };
    }

    for (const g of [...(p.groups ?? []), ...(p.group !== undefined ? [String(p.group)] : [])]) {
      if (!(await getent('group', g)) && !ctx.check) return failed('user.unknown-group', `group "${g}" does not exist on this host`, 'create it first with a `group` task');
    }
    if (p.uid !== undefined && (!current || current.id !== p.uid)) {
      const taken = await getent('passwd', String(p.uid));
      if (taken && taken.name !== p.name) return failed('user.uid-taken', `uid ${p.uid} already belongs to user ${taken.name}`);
    }

    if (!current) {
      const createHome = p.create_home ?? !p.system;
      const argv = [
        'useradd',
        ...(p.uid !== undefined ? ['-u', String(p.uid)] : []),
        ...(p.group !== undefined ? ['-g', String(p.group)] : []),
        ...(p.groups?.length ? ['-G', p.groups.join(',')] : []),
        ...(p.shell ? ['-s', p.shell] : []),
        ...(p.home ? ['-d', p.home] : []),
        ...(p.comment !== undefined ? ['-c', p.comment] : []),
        ...(p.system ? ['-r'] : []),
        createHome ? '-m' : '-M',
        p.name,
      ];
      const changes: Change[] = [{ summary: `create user ${p.name}${p.uid !== undefined ? ` (uid ${p.uid})` : ''}`, cause: 'missing', apply: run(argv) }];
      if (p.password !== undefined) changes.push(setPassword(p.name, p.password, ctx));
      return { ok: true, changes };
    }

    // passwd fields: name:x:uid:gid:gecos:home:shell
    const [, , , gidText, gecos, home, shell] = current.fields;
    const diffs: string[] = [];
    const argv = ['usermod'];
    const differs = (what: string, ...args: string[]) => {
      diffs.push(what);
      argv.push(...args);
    };
    if (p.uid !== undefined && current.id !== p.uid) differs(`uid ${current.id} -> ${p.uid}`, '-u', String(p.uid));
    if (p.group !== undefined) {
      const g = await getent('group', String(p.group));
      if (g && String(g.id) !== gidText) differs(`primary group -> ${g.name}`, '-g', String(g.id));
    }
    if (p.shell && shell !== p.shell) differs(`shell ${shell} -> ${p.shell}`, '-s', p.shell);
    // -m moves the old home's content, as an operator changing the home would expect.
    if (p.home && home !== p.home) differs(`home ${home} -> ${p.home}`, '-d', p.home, ...(existsSync(home) ? ['-m'] : []));
    if (p.comment !== undefined && gecos !== p.comment) differs('comment', '-c', p.comment);
    if (p.groups) {
      const now = await memberships(p.name);
      const want = new Set(p.groups);
      const missing = [...want].filter((g) => !now.has(g));
      const extra = [...now].filter((g) => !want.has(g));
      const shown = (set: Iterable<string>) => [...set].sort().join(',') || '(none)';
      if (p.append && missing.length) differs(`groups ${shown(now)} -> ${shown(new Set([...now, ...want]))}`, '-a', '-G', missing.join(','));
      else if (!p.append && (missing.length || extra.length)) differs(`groups ${shown(now)} -> ${shown(want)}`, '-G', p.groups.join(','));
    }
    const changes: Change[] = [];
    if (diffs.length) changes.push({ summary: `modify user ${p.name}: ${diffs.join(', ')}`, cause: 'account differs', apply: run([...argv, p.name]) });
    if (p.password !== undefined && (await shadowHash(p.name)) !== p.password) changes.push(setPassword(p.name, p.password, ctx));
    return { ok: true, changes, data: { uid: current.id, home } };
  },
});

/** Through chpasswd's stdin: a hash on a command line would show in `ps` and in error messages. */
function setPassword(name: string, hash: string, ctx: ModuleContext): Change {
  return { summary: `set the password of ${name}`, cause: 'password differs', apply: () => runArgv(['chpasswd', '-e'], { stdin: `${name}:${hash}\n` }, ctx) };
}

/** Supplementary groups of a user: groups that list it as a member (not its primary group). */
async function memberships(name: string): Promise<Set<string>> {
  const r = await capture(['getent', 'group']);
  const out = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const f = line.split(':');
    if (f.length >= 4 && f[3].split(',').includes(name)) out.add(f[0]);
  }
  return out;
}

async function shadowHash(name: string): Promise<string | undefined> {
  const r = await capture(['getent', 'shadow', name]);
  return r.code === 0 ? r.stdout.split(':')[1] : undefined;
}
