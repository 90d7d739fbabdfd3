// Playbooks, inventories, vars files and Compose files are read whole and parsed in memory. A
// limit on their size keeps a wrong path (a disk image, a log) or a hostile file from taking the
// controller's memory and time; the largest real playbook is a few tens of kB, far below it.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

export type InputText = { ok: true; text: string } | { ok: false; bytes: number };

/**
 * The file's text, or how big it is when that is over the limit. Reads at most one byte past the
 * limit, so a file that grows, or is no regular file (/dev/zero), cannot get around it. Throws
 * what readFileSync would (ENOENT, EISDIR, EACCES): callers already say those plainly.
 */
export function readInput(file: string): InputText {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_INPUT_BYTES) return { ok: false, bytes: size };
    const chunks: Buffer[] = [];
    let got = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.max(size - got + 1, 64 * 1024));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      got += n;
      if (got > MAX_INPUT_BYTES) return { ok: false, bytes: got };
    }
    return { ok: true, text: Buffer.concat(chunks, got).toString('utf8') };
  } finally {
    closeSync(fd);
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export const tooLargeMessage = (bytes: number): string =>
  `the file is ${bytes > MAX_INPUT_BYTES ? mib(bytes) : 'larger than the limit'}: berth reads playbooks, inventories, vars files and Compose files of at most ${MAX_INPUT_BYTES / 1024 / 1024} MiB`;
export const tooLargeHint = 'is it the right file? Large data belongs in files that copy or template send, not in YAML that berth parses';
