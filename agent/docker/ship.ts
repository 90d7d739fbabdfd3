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
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ModuleContext } from '../../modules/contract.js';
import type { ShippedImage } from '../../modules/lib/docker-image-spec.js';
import type { WireError } from '../../protocol/agent-protocol.js';
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
  const total = missing.reduce((n, i) => n + sent(img, i), 0);
  let done = 0;
  let shownAt = 0;
  // Progress as the bytes go into the engine, a few times a second at most.
  const count = () =>
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        if (done === total || performance.now() - shownAt >= 250) {
          shownAt = performance.now();
          ctx.progress('layers', done, total);
        }
        cb(null, chunk);
      },
    });
  // Layers stream from the controller straight into `docker load`: the engine unpacks them as
  // they arrive instead of after the last one, and no layer is written to disk and read back
  // first. All are asked for at once; the controller sends them back to back in this order,
  // the archive's. The engine commits nothing before the archive's end, and checks each layer
  // against its diff ID; the blob stream also fails before the last bytes of a layer that does
  // not match its hash.
  const stored: string[] = [];
  const streams = missing.map((i) => ({ i, content: openBlob(ctx, img.layers[i].blob?.sha256 ?? hex(img.layers[i].diffId), stored) }));
  let layerError: WireError | undefined;
  let loadEnded = false;
  // A layer that fails mid-way must end the engine's request too: a body that merely stops
  // would leave it waiting for the rest.
  const abort = new AbortController();
  const cancel = () => abort.abort();
  ctx.signal.addEventListener('abort', cancel, { once: true });

  const pack = tar.pack();
  const idHex = hex(img.id);
  const manifest = [{ Config: `${idHex}.json`, RepoTags: img.tags.length ? img.tags : null, Layers: img.layers.map((l) => `${hex(l.diffId)}/layer.tar`) }];
  void (async () => {
    try {
      pack.entry({ name: 'manifest.json', mtime: new Date(0) }, JSON.stringify(manifest));
      await pipeline(createReadStream(config.path), pack.entry({ name: `${idHex}.json`, size: img.config.size, mtime: new Date(0) }));
      for (const { i, content } of streams) {
        // A gzipped layer goes in as it came: docker load decompresses layer tars itself.
        const entry = pack.entry({ name: `${hex(img.layers[i].diffId)}/layer.tar`, size: sent(img, i), mtime: new Date(0) });
        await pipeline(content, count(), entry).catch((e: Error) => {
          if (!loadEnded) layerError ??= { code: 'image.layer-fetch', message: `cannot fetch layer ${i + 1} of ${img.origin}: ${e.message}` };
          throw e;
        });
      }
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
      abort.abort();
    }
  })();

  const d = await engine();
  let loadError: WireError | undefined;
  try {
    const stream: NodeJS.ReadableStream = await d.loadImage(Readable.from(pack, { objectMode: false }), { quiet: true, abortSignal: abort.signal } as object);
    const followed = await followStream(stream, (e) => streamLines(e.stream).forEach((l) => ctx.output('stdout', l)));
    if (!followed.ok) loadError = { code: 'image.load-failed', message: `docker load of ${img.origin} failed: ${followed.message}` };
  } catch (e) {
    loadError = dockerError('image.load-failed', `docker load of ${img.origin} failed`, e);
  } finally {
    loadEnded = true;
    ctx.signal.removeEventListener('abort', cancel);
    // Whatever was not read (a failed load) is dropped, so the agent's channel never stays paused.
    pack.destroy();
    for (const s of streams) s.content.destroy();
    await Promise.all(stored.map((p) => rm(p, { force: true })));
  }
  // A layer that could not be fetched is why the load failed, whatever the engine says.
  if (layerError) return { ok: false, error: layerError };
  if (loadError) return { ok: false, error: loadError };
  const info = await inspectImage(img.id);
  if (!info.ok) return info;
  if (!info.value) return { ok: false, error: { code: 'image.load-failed', message: `docker load of ${img.origin} ended without image ${img.id.slice(0, 19)}` } };
  return { ok: true, value: info.value };
}

/** A blob as a stream: straight from the channel where the agent can, else through its store (then removed with `stored`). */
function openBlob(ctx: ModuleContext, sha256: string, stored: string[]): Readable {
  if (ctx.blobStream) return ctx.blobStream(sha256);
  const out = new PassThrough().on('error', () => {});
  void ctx.blob(sha256).then((got) => {
    if (!got.ok) return void out.destroy(Object.assign(new Error(got.error.message), { code: got.error.code }));
    stored.push(got.path);
    createReadStream(got.path).on('error', (e) => out.destroy(e)).pipe(out);
  });
  return out;
}
