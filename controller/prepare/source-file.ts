// Finds a task's `src` on the controller: relative to the playbook's folder, a readable regular
// file, or one clear error pointing at the task (exit 2, before anything changes on a host).
import { statSync, type Stats } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { badInput, err, ok, type BerthError, type Result } from '../errors.js';

export function findSource(module: string, src: string, baseDir: string, where: string): Result<{ path: string; stat: Stats }, BerthError> {
  const path = isAbsolute(src) ? src : resolve(baseDir, src);
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch {
    return err(badInput(`${module}.src-missing`, `${module} src "${src}" does not exist (looked for ${path})`, where, 'src is relative to the folder of the playbook'));
  }
  if (stat.isDirectory()) return err(badInput(`${module}.src-is-directory`, `${module} src "${src}" is a directory; berth copies single files`, where, 'copy each file with a loop, or pack the folder into an archive'));
  if (!stat.isFile()) return err(badInput(`${module}.src-not-file`, `${module} src "${src}" is not a regular file`, where));
  return ok({ path, stat });
}
