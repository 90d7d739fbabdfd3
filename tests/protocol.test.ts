// Framing rules both sides enforce: frames split across any chunk boundaries arrive whole and in
// order; garbage or an oversized frame ends the channel with an error value, never a guess.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameReader, MAX_FRAME_BYTES, encodeFrame, maskSecrets } from '../protocol/agent-protocol.js';

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

test('a large frame in many small chunks is read once, whole', () => {
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

test('secrets are masked, longest first', () => {
  assert.is(maskSecrets('user=admin pass=admin123', ['admin', 'admin123']), 'user=******** pass=********');
  assert.is(maskSecrets('nothing here', []), 'nothing here');
});

test.run();
