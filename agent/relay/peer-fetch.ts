// Reads content from another host's relay (server.ts): the bytes from `from` on, as a stream the
// caller pauses and resumes. It checks nothing itself: the blob store hashes whatever arrives,
// from wherever, and falls back to the controller when this ends short.
import { connect, type TLSSocket } from 'node:tls';
import type { RelaySource } from '../../protocol/agent-protocol.js';
import { clientTls, type RelayAnswer, type RelayAsk } from './tls-psk.js';

/** A relay that does not answer this fast is as good as unreachable: the controller is there. */
const CONNECT_TIMEOUT_MS = 3000;
/** No byte for this long: the relaying host is stuck, and the controller takes over. */
const IDLE_TIMEOUT_MS = 30_000;

export interface PeerTransfer {
  pause(): void;
  resume(): void;
  /** Stops the transfer; no more callbacks. */
  stop(): void;
}

export function fetchFromPeer(
  source: RelaySource,
  key: Buffer,
  ask: RelayAsk,
  on: { data(bytes: Buffer): void; end(): void; fail(reason: string): void },
): PeerTransfer {
  let finished = false;
  let header = Buffer.alloc(0);
  let answered = false;
  const finish = (cb: () => void) => {
    if (finished) return;
    finished = true;
    clearTimeout(connectTimer);
    socket.destroy();
    cb();
  };
  const where = `${source.host} (${source.address} port ${source.port})`;
  const socket: TLSSocket = connect({ ...clientTls(key), host: source.address, port: source.port }, () => {
    clearTimeout(connectTimer);
    socket.setTimeout(IDLE_TIMEOUT_MS, () => finish(() => on.fail(`the relay on ${where} sent nothing for ${IDLE_TIMEOUT_MS / 1000} s`)));
    socket.write(JSON.stringify(ask) + '\n');
  });
  const connectTimer = setTimeout(() => finish(() => on.fail(`no answer from the relay on ${where} within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
  socket.on('data', (d: Buffer) => {
    if (finished) return;
    if (answered) return on.data(d);
    header = Buffer.concat([header, d]);
    const nl = header.indexOf(10);
    if (nl < 0) return header.length > 1024 ? finish(() => on.fail(`the relay on ${where} answered nonsense`)) : undefined;
    let answer: RelayAnswer;
    try {
      answer = JSON.parse(header.subarray(0, nl).toString('utf8')) as RelayAnswer;
    } catch {
      return finish(() => on.fail(`the relay on ${where} answered nonsense`));
    }
    if (!answer.ok) return finish(() => on.fail(`the relay on ${where}: ${answer.message}`));
    answered = true;
    const rest = header.subarray(nl + 1);
    header = Buffer.alloc(0);
    if (rest.length) on.data(rest);
  });
  socket.on('end', () => finish(() => on.end()));
  socket.on('error', (e) => finish(() => on.fail(`the relay on ${where}: ${e.message}`)));
  socket.on('close', () => finish(() => on.end()));
  return {
    // A transfer paused for a slow reader is not an idle relay.
    pause: () => {
      socket.pause();
      if (answered) socket.setTimeout(0);
    },
    resume: () => {
      if (answered && !finished) socket.setTimeout(IDLE_TIMEOUT_MS);
      socket.resume();
    },
    stop: () => finish(() => {}),
  };
}
