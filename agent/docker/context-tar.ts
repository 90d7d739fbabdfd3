// The tar stream a build sends to the engine, made on the host from the context's entries: in
// their sorted order, mtime 0, owner root, normalised modes. Every host therefore builds from
// byte-identical contexts, and COPY layers come out identical wherever the base is.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { ContextEntry } from '../../modules/lib/docker-image-spec.js';

const EPOCH = new Date(0);

/** `fileOf` gives the local path holding a file entry's content (a blob, or the file itself). */
export function contextTar(entries: ContextEntry[], fileOf: (e: Extract<ContextEntry, { type: 'file' }>) => string): NodeJS.ReadableStream {
  const pack = tar.pack();
  const base = { mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
  void (async () => {
    try {
      for (const e of entries) {
        if (e.type === 'dir') pack.entry({ ...base, name: `${e.path}/`, type: 'directory', mode: e.mode });
        else if (e.type === 'symlink') pack.entry({ ...base, name: e.path, type: 'symlink', linkname: e.target, mode: 0o777 });
        else await pipeline(createReadStream(fileOf(e)), pack.entry({ ...base, name: e.path, type: 'file', mode: e.mode, size: e.size }));
      }
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  // tar-stream speaks streamx; the HTTP request the engine client pipes into wants a Node stream.
  return Readable.from(pack, { objectMode: false });
}
