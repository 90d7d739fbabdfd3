// Loads an image the controller sent layer by layer, fetching only the layers this host lacks.
//
// How little `docker load` needs (checked against dockerd 20.10, image/tarexport/load.go): for
// each layer of the manifest it first looks the layer chain up in its layer store, and opens the
// layer's file in the archive only when the chain is missing. So an archive with manifest.json,
// the config and only the missing layer tars loads fine when the host has the other layers as
// part of some image; a layer that is neither in the archive nor in the store fails the load
// ("open .../layer.tar: no such file or directory"). Presence is per chain, not per layer: a
// layer counts as present only with the same layers below it, which is what the chain ID says.
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import tar from 'tar-stream';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ModuleContext } from '../../modules/contract.js';
import type { ShippedImage } from '../../modules/lib/docker-image-spec.js';
import { formatBytes } from './build.js';
import { dockerError, engine, inspectImage, listImages, type ImageInfo, type Read } from './engine.js';
import { followStream, streamLines } from './stream.js';

const hex = (digest: string) => digest.replace(/^sha256:/, '');

/** Bytes layer `i` takes on the wire: its gzip form when the controller made one. */
const sent = (img: ShippedImage, i: number) => img.layers[i].blob?.size ?? img.layers[i].size;

/** Docker's chain IDs of a layer stack: chain(0) = diff(0); chain(n) = sha256(chain(n-1) + " " + diff(n)). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    out.push(out.length === 0 ? d : `sha256:${createHash('sha256').update(`${out[out.length - 1]} ${d}`).digest('hex')}`);
  }
  return out;
}

/** Every layer chain the engine holds, from the images it has (intermediate ones included). */
export async function presentChains(): Promise<Read<Set<string>>> {
  const images = await listImages({}, true);
  if (!images.ok) return images;
  const chains = new Set<string>();
  for (const img of images.value) {
    const info = await inspectImage(img.Id);
    if (!info.ok) return info;
    for (const c of chainIds(info.value?.RootFS.Layers ?? [])) chains.add(c);
  }
  return { ok: true, value: chains };
}

export interface PlannedShip {
  present?: ImageInfo;
  /** Indexes of the layers to send. */
  missing: number[];
  bytes: number;
  describe: string;
  load(ctx: ModuleContext): Promise<Read<ImageInfo>>;
}

export async function planShip(img: ShippedImage): Promise<Read<PlannedShip>> {
  const present = await inspectImage(img.id);
  if (!present.ok) return present;
  const missing = present.value ? { ok: true as const, value: [] } : await missingLayers(img);
  if (!missing.ok) return missing;
  const bytes = missing.value.reduce((n, i) => n + sent(img, i), 0) + img.config.size;
  return {
    ok: true,
    value: {
      present: present.value,
      missing: missing.value,
      bytes,
      describe: `${missing.value.length} of ${img.layers.length} layers missing, ${formatBytes(bytes)} to send`,
      load: (ctx) => load(img, ctx),
    },
  };
}

/** Indexes of the layers whose chain the engine lacks. */
async function missingLayers(img: ShippedImage): Promise<Read<number[]>> {
  const chains = await presentChains();
  if (!chains.ok) return chains;
  // Once one chain is missing, every chain above it is missing too.
  const first = chainIds(img.layers.map((l) => l.diffId)).findIndex((c) => !chains.value.has(c));
  return { ok: true, value: first < 0 ? [] : img.layers.map((_, i) => i).slice(first) };
}

async function load(img: ShippedImage, ctx: ModuleContext): Promise<Read<ImageInfo>> {
  // Again at apply time: an image removed since the plan may have taken layers with it.
  const found = await missingLayers(img);
  if (!found.ok) return found;
  const missing = found.value;
  const config = await ctx.blob(img.config.sha256);
  if (!config.ok) {
    // The controller skipped the save because this host had the image when it connected.
    const gone = config.error.code === 'blob.unknown';
    return { ok: false, error: gone ? { code: 'image.gone', message: `${img.origin} left this host after berth connected; run again to ship it` } : config.error };
  }
  const layerPaths = new Map<number, string>();
  let done = 0;
  const total = missing.reduce((n, i) => n + sent(img, i), 0);
  // One layer at a time: the controller streams each as it is asked for, so asking for all at
  // once only interleaves them on the same connection.
  for (const i of missing) {
    const layer = img.layers[i];
    const got = await ctx.blob(layer.blob?.sha256 ?? hex(layer.diffId));
    if (!got.ok) return { ok: false, error: { code: 'image.layer-fetch', message: `cannot fetch layer ${i + 1} of ${img.origin}: ${got.error.message}` } };
    layerPaths.set(i, got.path);
    done += sent(img, i);
    ctx.progress('layers', done, total);
  }

  const pack = tar.pack();
  const idHex = hex(img.id);
  const manifest = [{ Config: `${idHex}.json`, RepoTags: img.tags.length ? img.tags : null, Layers: img.layers.map((l) => `${hex(l.diffId)}/layer.tar`) }];
  void (async () => {
    try {
      pack.entry({ name: 'manifest.json', mtime: new Date(0) }, JSON.stringify(manifest));
      await pipeline(createReadStream(config.path), pack.entry({ name: `${idHex}.json`, size: img.config.size, mtime: new Date(0) }));
      for (const [i, path] of layerPaths) {
        // A gzipped layer goes in as it came: docker load decompresses layer tars itself.
        await pipeline(createReadStream(path), pack.entry({ name: `${hex(img.layers[i].diffId)}/layer.tar`, size: sent(img, i), mtime: new Date(0) }));
      }
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
    }
  })();

  const d = await engine();
  let stream: NodeJS.ReadableStream;
  try {
    stream = await d.loadImage(Readable.from(pack, { objectMode: false }), { quiet: true, abortSignal: ctx.signal } as object);
  } catch (e) {
    return { ok: false, error: dockerError('image.load-failed', `docker load of ${img.origin} failed`, e) };
  }
  const followed = await followStream(stream, (e) => streamLines(e.stream).forEach((l) => ctx.output('stdout', l)));
  // The layers now live in the engine; their copies in the blob store would only fill the disk.
  await Promise.all([...layerPaths.values()].map((p) => rm(p, { force: true })));
  if (!followed.ok) return { ok: false, error: { code: 'image.load-failed', message: `docker load of ${img.origin} failed: ${followed.message}` } };
  const info = await inspectImage(img.id);
  if (!info.ok) return info;
  if (!info.value) return { ok: false, error: { code: 'image.load-failed', message: `docker load of ${img.origin} ended without image ${img.id.slice(0, 19)}` } };
  return { ok: true, value: info.value };
}
