// A `docker save` archive taken apart into what berth ships: the image config and one
// uncompressed tar per layer, each registered in the run's blob registry under its sha256 (the
// image ID for the config, the diff ID for a layer: the same hashes the host's engine uses, so
// a host can tell which layers it already has without receiving any). The archive is read
// synchronously from memory, like the rest of task preparation.
import { createHash } from 'node:crypto';
import { constants, gzipSync } from 'node:zlib';
import type { ShippedImage } from '../../modules/lib/docker-image-spec.js';
import type { BlobRegistry } from '../blobs.js';

/** Entries of an uncompressed tar (ustar, pax and GNU long names), by path; contents share the buffer. */
export function readTar(buf: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let at = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (at + 512 <= buf.length) {
    const h = buf.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const str = (off: number, len: number) => {
      const s = h.subarray(off, off + len);
      const nul = s.indexOf(0);
      return s.subarray(0, nul < 0 ? len : nul).toString('utf8');
    };
    const sizeField = h.subarray(124, 136);
    // Sizes of 8 GiB and more are base-256 (high bit set) rather than octal.
    const size = sizeField[0] & 0x80 ? Number(sizeField.subarray(4).readBigUInt64BE()) : parseInt(str(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = str(257, 6) === 'ustar' ? str(345, 155) : '';
    const name = longName ?? paxPath ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    const body = buf.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (type === 'x') {
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
      continue;
    }
    if (type === 'g') continue;
    longName = undefined;
    paxPath = undefined;
    if (type === '0' || type === '7') files.set(name.replace(/^\.\//, ''), body);
  }
  return files;
}

/**
 * The image of a `docker save` archive, its config and layers added to `blobs`. Fails when the
 * archive's hashes do not match the image's own (a compressed layer, a damaged archive).
 */
export function shipSavedImage(archive: Buffer, blobs: BlobRegistry, tags: string[], origin: string): { ok: true; value: ShippedImage } | { ok: false; message: string } {
  const files = readTar(archive);
  const manifestBuf = files.get('manifest.json');
  if (!manifestBuf) return { ok: false, message: 'the saved archive has no manifest.json' };
  const [m] = JSON.parse(manifestBuf.toString('utf8')) as Array<{ Config: string; Layers: string[] }>;
  const config = files.get(m.Config);
  if (!config) return { ok: false, message: `the saved archive lacks its config ${m.Config}` };
  const diffIds = (JSON.parse(config.toString('utf8')) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
  if (diffIds.length !== m.Layers.length) return { ok: false, message: 'the saved archive\'s manifest and config disagree on the layers' };
  const layers: ShippedImage['layers'] = [];
  for (const [i, path] of m.Layers.entries()) {
    const data = files.get(path);
    if (!data) return { ok: false, message: `the saved archive lacks layer ${path}` };
    const packed = compressed(data);
    // Each layer is hashed once: by the registry when it is sent as it is.
    // Layers are the same for every host: relays may carry them.
    const sha = packed ? createHash('sha256').update(data).digest('hex') : blobs.add(data, { share: true }).sha256;
    if (`sha256:${sha}` !== diffIds[i]) return { ok: false, message: `layer ${path} does not hash to its diff ID (compressed?)` };
    layers.push({ diffId: diffIds[i], size: data.length, ...(packed ? { blob: blobs.add(packed, { share: true }) } : {}) });
  }
  const c = blobs.add(config, { share: true });
  return { ok: true, value: { id: `sha256:${c.sha256}`, config: c, layers, tags, origin } };
}

/** Layers are sent gzipped when that saves at least this share of the bytes. */
const WORTH = 0.85;
const SAMPLE = 1 << 20;

/**
 * The gzip form of a layer, when it is worth sending instead (judged on a 1 MiB sample first:
 * random or already-compressed content is not gzipped for nothing). Level 1: the controller
 * compresses while hosts wait, and most of the gain comes at the fastest level.
 */
export function compressed(data: Buffer): Buffer | undefined {
  if (data.length < 4096) return undefined;
  const opts = { level: 1, strategy: constants.Z_DEFAULT_STRATEGY };
  if (data.length > SAMPLE && gzipSync(data.subarray(0, SAMPLE), opts).length > SAMPLE * WORTH) return undefined;
  const gz = gzipSync(data, opts);
  return gz.length <= data.length * WORTH ? gz : undefined;
}
