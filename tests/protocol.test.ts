// Framing rules both sides enforce: frames split across any chunk boundaries arrive whole and in
// order; garbage or an oversized frame ends the channel with an error value, never a guess.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteFrameReader, FrameReader, MAX_FRAME_BYTES, encodeFrame, maskSecrets } from '../protocol/agent-protocol.js';
import { maskDeep, masker, secretDiffNote } from '../protocol/mask.js';

function read(chunks: string[]) {
  const frames: unknown[] = [];
  const errors: string[] = [];
  const r = new FrameReader<unknown>((f) => frames.push(f), (e) => errors.push(e.code));
  for (const c of chunks) r.push(c);
  return { frames, errors };
}

test('frames split at every possible point arrive whole, in order', () => {
  const text = encodeFrame({ t: 'bye' }) + encodeFrame({ t: 'cancel', id: 7 }) + encodeFrame({ t: 'req', id: 1, method: 'ping' });
  for (let cut = 0; cut <= text.length; cut++) {
    const { frames, errors } = read([text.slice(0, cut), text.slice(cut)]);
    assert.equal(frames, [{ t: 'bye' }, { t: 'cancel', id: 7 }, { t: 'req', id: 1, method: 'ping' }], `cut at ${cut}`);
    assert.equal(errors, []);
  }
});

// Tests never judge time: the reader's speed is printed here and measured in bench/images.ts.
test('a large frame in many small chunks arrives whole (its read time is printed)', () => {
  const big = encodeFrame({ t: 'blob', fetch: 1, ok: true, data: 'x'.repeat(3_000_000), last: true });
  const chunks: string[] = [];
  for (let i = 0; i < big.length; i += 16_384) chunks.push(big.slice(i, i + 16_384));
  const t0 = performance.now();
  const { frames } = read(chunks);
  assert.is(frames.length, 1);
  assert.is((frames[0] as { data: string }).data.length, 3_000_000);
  console.log(`  3 MB frame in ${chunks.length} chunks: ${Math.round(performance.now() - t0)} ms`);
});

test('garbage and oversized frames are errors, and nothing after them is read', () => {
  assert.equal(read(['{"t":"bye"}\nnot json\n{"t":"bye"}\n']), { frames: [{ t: 'bye' }], errors: ['protocol.garbage'] });
  const { frames, errors } = read(['{"t":"bye"}\n', 'y'.repeat(MAX_FRAME_BYTES + 1)]);
  assert.equal(frames, [{ t: 'bye' }]);
  assert.equal(errors, ['protocol.frame-too-large']);
});

function readBytes(chunks: Buffer[]) {
  const frames: Array<{ frame: unknown; payload?: string }> = [];
  const errors: string[] = [];
  const r = new ByteFrameReader<unknown>((frame, payload) => frames.push(payload ? { frame, payload: payload.toString('latin1') } : { frame }), (e) => errors.push(e.code));
  for (const c of chunks) r.push(c);
  return { frames, errors };
}

test('raw content after its frame arrives whole, whatever it holds and wherever the stream is cut', () => {
  // The content holds newlines and bytes that are not UTF-8: it is never scanned for frames.
  const content = Buffer.from([0x7b, 10, 0xff, 0x00, 10, 0xc3, 10, 0x7d]);
  const wire = Buffer.concat([
    Buffer.from(encodeFrame({ t: 'blob', fetch: 1, ok: true, bytes: content.length, last: true })),
    content,
    Buffer.from(encodeFrame({ t: 'cancel', id: 7 }) + encodeFrame({ t: 'req', id: 2, method: 'ping' })),
  ]);
  const want = [{ frame: { t: 'blob', fetch: 1, ok: true, bytes: 8, last: true }, payload: content.toString('latin1') }, { frame: { t: 'cancel', id: 7 } }, { frame: { t: 'req', id: 2, method: 'ping' } }];
  for (let cut = 0; cut <= wire.length; cut++) {
    assert.equal(readBytes([wire.subarray(0, cut), wire.subarray(cut)]), { frames: want, errors: [] }, `cut at ${cut}`);
  }
  assert.equal(readBytes([...wire].map((b) => Buffer.from([b]))), { frames: want, errors: [] }, 'one byte at a time');
});

test('a character split across chunks is decoded whole', () => {
  const wire = Buffer.from(encodeFrame({ t: 'req', id: 1, method: 'ping', params: { note: 'Grüße ✓' } } as never));
  const at = wire.indexOf(0xc3) + 1;
  assert.equal(readBytes([wire.subarray(0, at), wire.subarray(at)]).frames, [{ frame: { t: 'req', id: 1, method: 'ping', params: { note: 'Grüße ✓' } } }]);
});

test('100 MB of raw frames read in 64 KiB pieces that ignore frame edges arrive to the byte (time printed)', () => {
  const chunk = Buffer.alloc(1 << 20, 0x61);
  const header = Buffer.from(encodeFrame({ t: 'blob', fetch: 1, ok: true, bytes: chunk.length, last: false }));
  let got = 0;
  const r = new ByteFrameReader<unknown>((_f, p) => (got += p?.length ?? 0), () => assert.unreachable('no error'));
  const t0 = performance.now();
  // Delivered as a pipe would: 64 KiB reads that ignore frame boundaries.
  const wire = Buffer.concat([header, chunk]);
  for (let i = 0; i < 100; i++) for (let at = 0; at < wire.length; at += 65_536) r.push(wire.subarray(at, at + 65_536));
  assert.is(got, 100 << 20);
  console.log(`  100 MB in raw frames: ${Math.round(performance.now() - t0)} ms`);
});

test('a payload size that is not a size, or garbage, ends the stream', () => {
  assert.equal(readBytes([Buffer.from('{"t":"blob","fetch":1,"ok":true,"bytes":-1,"last":true}\n{"t":"bye"}\n')]), { frames: [], errors: ['protocol.bad-payload'] });
  assert.equal(readBytes([Buffer.from(`{"t":"blob","fetch":1,"ok":true,"bytes":${MAX_FRAME_BYTES + 1},"last":true}\n`)]).errors, ['protocol.bad-payload']);
  assert.equal(readBytes([Buffer.from('{"t":"bye"}\nnot json\n{"t":"bye"}\n')]), { frames: [{ frame: { t: 'bye' } }], errors: ['protocol.garbage'] });
  assert.equal(readBytes([Buffer.from('{"t":"bye"}\n'), Buffer.alloc(MAX_FRAME_BYTES + 1, 0x79)]), { frames: [{ frame: { t: 'bye' } }], errors: ['protocol.frame-too-large'] });
});

test('secrets are masked, longest first', () => {
  assert.is(maskSecrets('user=admin pass=admin123', ['admin', 'admin123']), 'user=******** pass=********');
  assert.is(maskSecrets('nothing here', []), 'nothing here');
});

test('masking works on the strings of a value: never its numbers, keys or kept fields', () => {
  const mask = masker(['42', 'type', 'ok']);
  const event = { type: 'task-end', task: 42, status: 'ok', name: 'port 42, type ok', changes: [{ summary: 'set 42' }], hosts: { ok: 1 } };
  assert.equal(maskDeep(event, mask, new Set(['type', 'status'])), { type: 'task-end', task: 42, status: 'ok', name: 'port ********, ******** ********', changes: [{ summary: 'set ********' }], hosts: { ok: 1 } });
});

test('a multi-line secret is masked whole and line by line; lines too short to tell apart are not', () => {
  const key = 'line-one-of-it\r\n  line-two-of-it\n}\n';
  assert.is(maskSecrets(`a ${key} b`, [key]), 'a ******** b');
  assert.is(maskSecrets('>> line-two-of-it\n}', [key]), '>> ********\n}');
  assert.is(secretDiffNote('--- /dev/null\n+++ /etc/app.env (after)\n@@ -0,0 +1 @@\n+pw=********\n'), '/etc/app.env: diff not shown (the content comes from a secret)\n');
});

test.run();
