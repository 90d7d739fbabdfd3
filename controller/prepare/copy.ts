// Controller side of `copy`: the source (a file next to the playbook, or inline content) goes
// into the run's blob registry and the task carries only its hash, so that a host that already
// has this content receives nothing.
import { basename } from 'node:path';
import type { CopyParams } from '../../modules/params/copy.js';
import type { PreparedContent } from '../../modules/lib/content-file.js';
import { badInput, err, ok } from '../errors.js';
import type { Prepare } from './contract.js';
import { findSource } from './source-file.js';

export const prepareCopy: Prepare = (params, ctx) => {
  const p = params as CopyParams;
  const { src, content, ...rest } = p;
  if ((src === undefined) === (content === undefined)) {
    return err(badInput('copy.src-or-content', `copy needs exactly one of src (a file on the controller) or content (inline text), ${src === undefined ? 'got neither' : 'got both'}`, ctx.where));
  }
  if (content !== undefined) {
    if (p.mode === 'preserve') return err(badInput('copy.bad-mode', 'mode "preserve" needs src: inline content has no mode to preserve', ctx.where));
    const { sha256, size } = ctx.blobs.add(String(content));
    return ok({ ...rest, sha256, size, origin: 'inline content' } satisfies PreparedContent);
  }
  const found = findSource('copy', src!, ctx.baseDir, ctx.where);
  if (!found.ok) return found;
  const { sha256, size } = ctx.blobs.addFile(found.value.path);
  const mode = p.mode === 'preserve' ? '0' + (found.value.stat.mode & 0o7777).toString(8) : p.mode;
  return ok({ ...rest, mode, sha256, size, name: basename(src!), origin: src } satisfies PreparedContent);
};
