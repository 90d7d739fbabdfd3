// Streamed content on the agent (BlobStore.stream): what `docker load` reads while a layer is
// still arriving. The controller is played here by a function that answers each fetch with raw
// frames, so every case is exact: intact content, content that does not match its hash, a
// reader slower than the channel, a reader that gives up.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BlobStore } from '../agent/blob-store.js';
import { BLOB_CHUNK_BYTES, type AgentFrame } from '../protocol/agent-protocol.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A store whose fetches are answered with `content(sha)` in raw frames, and a record of the channel's pauses. */
function storeServing(content: (sha: string) => Buffer) {
  const flow = { paused: 0, resumed: 0, pause: () => void flow.paused++, resume: () => void flow.resumed++ };
  const store: BlobStore = new BlobStore((f: AgentFrame) => {
    if (f.t !== 'fetch') return;
    const data = content(f.sha256);
    // Asynchronously, in pieces, as the channel would deliver them.
    setImmediate(() => {
      for (let at = 0; at < data.length; at += BLOB_CHUNK_BYTES) {
        const piece = data.subarray(at, at + BLOB_CHUNK_BYTES);
        store.onFrame({ t: 'blob', fetch: f.fetch, ok: true, bytes: piece.length, last: at + BLOB_CHUNK_BYTES >= data.length }, piece);
      }
    });
  }, flow);
  return { store, flow };
}

/** A reader taking `msPerChunk` for each chunk it is given. */
function reader(msPerChunk = 0) {
  const parts: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      setTimeout(cb, msPerChunk);
    },
  });
  return { sink, got: () => Buffer.concat(parts) };
}

test('content arrives whole, in order, and nothing is kept on disk', async () => {
  const content = randomBytes(5 * BLOB_CHUNK_BYTES + 17);
  const { store } = storeServing(() => content);
  const r = reader();
  await pipeline(store.stream(sha(content)), r.sink);
  assert.ok(r.got().equals(content));
  assert.not.ok(existsSync(join(store.dir, sha(content))), 'not in the blob store');
});

test('content that does not match its hash fails the stream before its last bytes are passed on', async () => {
  const content = randomBytes(3 * BLOB_CHUNK_BYTES);
  const tampered = Buffer.from(content);
  tampered[tampered.length - 1] ^= 1;
  const { store } = storeServing(() => tampered);
  const r = reader();
  const e = await pipeline(store.stream(sha(content)), r.sink).then(() => undefined, (x: Error & { code?: string }) => x);
  assert.is(e?.code, 'blob.corrupt');
  assert.match(e!.message, /does not match its hash/);
  assert.ok(r.got().length < content.length, `the reader got ${r.got().length} of ${content.length} bytes: never the whole`);
});

test('a slow reader pauses the channel instead of filling memory, and the channel goes on afterwards', async () => {
  const content = randomBytes(16 * BLOB_CHUNK_BYTES);
  const { store, flow } = storeServing(() => content);
  const r = reader(5);
  await pipeline(store.stream(sha(content)), r.sink);
  assert.ok(r.got().equals(content));
  assert.ok(flow.paused > 0, 'the channel was paused');
  assert.is(flow.resumed, flow.paused, 'and resumed as often');
});

test('a reader that gives up never leaves the channel paused; an unknown blob is an error', async () => {
  const content = randomBytes(16 * BLOB_CHUNK_BYTES);
  const { store, flow } = storeServing(() => content);
  const s = store.stream(sha(content));
  // Nobody reads: the buffer fills, the channel is paused; then the reader goes away.
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(flow.paused > 0);
  s.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.is(flow.resumed, flow.paused);

  const lost = new BlobStore((f) => {
    if (f.t === 'fetch') setImmediate(() => lost.onFrame({ t: 'blob', fetch: f.fetch, ok: false, error: { code: 'blob.unknown', message: 'the controller has no content' } }));
  });
  const e = await pipeline(lost.stream('a'.repeat(64)), reader().sink).then(() => undefined, (x: Error & { code?: string }) => x);
  assert.is(e?.code, 'blob.unknown');
});

test.run();
