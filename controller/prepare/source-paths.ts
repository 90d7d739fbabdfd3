// Files on the controller that a task or service reads (a copy's or template's src, a build
// context, an env_file) may be named with templates, and templates see vars and what each host
// says about itself (facts). So a path a template built must stay inside the playbook's folder;
// only the playbook's own text can point elsewhere: a path written absolute
// (`/srv/files/{{ name }}`, which then stays in /srv/files), or one written without any template
// (`../shared/motd`), is taken as written. `{{ dir }}/key` with dir=/etc, or
// `files/{{ facts.os.id }}` with a host's id of "/../../../etc/shadow", is refused before
// anything is read.
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { badInput, err, ok, type BerthError, type Result } from '../errors.js';

/** A key path in a task's or service's parameters; `*` is every item of a list or map. */
type KeyPath = readonly string[];

/** Controller-side source paths, by module. */
export const taskSourceKeys: Readonly<Record<string, readonly KeyPath[]>> = {
  copy: [['src']],
  template: [['src']],
  image: [['build'], ['build', 'context']],
};

/** Controller-side source paths of a service (Compose's build and env_file, sidecars' env_file). */
export const serviceSourceKeys: readonly KeyPath[] = [['build'], ['build', 'context'], ['env_file'], ['env_file', '*'], ['sidecars', '*', 'env_file'], ['sidecars', '*', 'env_file', '*']];

/**
 * Checks every source path at `keys` of the rendered value against what the playbook wrote
 * there (`written`, before rendering). `where` points at a key for the message.
 */
export function checkSourcePaths(
  keys: readonly KeyPath[],
  written: unknown,
  rendered: unknown,
  baseDir: string,
  where: (key: Array<string | number>) => string,
): Result<void, BerthError> {
  for (const key of keys) {
    for (const at of pairs(key, written, rendered, [])) {
      if (typeof at.rendered !== 'string' || at.hostSide) continue;
      if (!escapes(at.written, at.rendered, baseDir)) continue;
      const name = at.path.filter((k) => typeof k === 'string').join('.');
      return err(
        badInput(
          'source.outside-playbook',
          `${name} "${at.rendered}" (from "${String(at.written)}") is outside the playbook's folder ${baseDir}: a path built by a template must stay inside it`,
          where(at.path),
          'put the file beside the playbook, or write its absolute path in the playbook itself (for example /srv/files/{{ name }})',
        ),
      );
    }
  }
  return ok(undefined);
}

/**
 * Whether a rendered path leaves the folder the playbook wrote: `baseDir` for a relative path,
 * and for an absolute one the folder its text names before the first template (so that
 * `/srv/files/{{ name }}` stays in /srv/files, and a Compose file's `build: ./{{ dir }}`, made
 * absolute when the file was read, stays beside that file).
 */
export function escapes(written: unknown, rendered: string, baseDir: string): boolean {
  if (typeof written === 'string' && !written.includes('{{')) return false;
  let root = baseDir;
  if (typeof written === 'string' && isAbsolute(written)) {
    const literal = written.slice(0, written.indexOf('{{'));
    root = literal.endsWith('/') ? literal : dirname(literal);
  }
  const rel = relative(resolve(root), resolve(baseDir, rendered));
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

interface Pair {
  path: Array<string | number>;
  written: unknown;
  rendered: unknown;
  /** Under a build with remote_src: a path on the host, not on the controller. */
  hostSide: boolean;
}

function pairs(key: KeyPath, written: unknown, rendered: unknown, path: Array<string | number>, hostSide = false): Pair[] {
  if (key.length === 0) return [{ path, written, rendered, hostSide }];
  if (!rendered || typeof rendered !== 'object') return [];
  const here = hostSide || (rendered as { remote_src?: unknown }).remote_src === true;
  const [k, ...rest] = key;
  const child = (c: string | number) => (written && typeof written === 'object' ? (written as Record<string | number, unknown>)[c] : undefined);
  const names: Array<string | number> = k !== '*' ? [k] : Array.isArray(rendered) ? rendered.map((_, i) => i) : Object.keys(rendered);
  return names.flatMap((c) => pairs(rest, child(c), (rendered as Record<string | number, unknown>)[c], [...path, c], here));
}
