// The agent's end of the protocol channel. Frames go out on fd 1 and nowhere else: console output
// is redirected to stderr, and children get their own pipes, so nothing can corrupt the channel.
import { ByteFrameReader, encodeFrame, type AgentFrame, type ControllerFrame, type WireError } from '../protocol/agent-protocol.js';

export interface AgentChannel {
  send(frame: AgentFrame): void;
  /** `payload`: the raw content that followed a frame announcing `bytes`. */
  onFrame(cb: (frame: ControllerFrame, payload?: Buffer) => void): void;
  onClose(cb: (why?: WireError) => void): void;
  /** Stops reading frames until resume(): a slow consumer of streamed content holds the controller back through SSH's window instead of filling memory. */
  pause(): void;
  resume(): void;
}

export function stdioChannel(): AgentChannel {
  const out = process.stdout;
  const frameCbs: Array<(f: ControllerFrame, payload?: Buffer) => void> = [];
  const closeCbs: Array<(why?: WireError) => void> = [];
  // The controller closing our stdin ends the conversation, but results of work in progress
  // can still be written until stdout itself breaks.
  let closed = false;
  let outputBroken = false;
  const close = (why?: WireError) => {
    if (closed) return;
    closed = true;
    for (const cb of closeCbs) cb(why);
  };
  const reader = new ByteFrameReader<ControllerFrame>(
    (f, payload) => frameCbs.forEach((cb) => cb(f, payload)),
    (e) => close(e),
  );
  // Bytes, not text: content arrives raw after its frame.
  process.stdin.on('data', (chunk: Buffer) => reader.push(chunk));
  process.stdin.on('end', () => close());
  process.stdin.on('error', () => close());
  out.on('error', () => {
    outputBroken = true;
    close();
  });
  return {
    send: (frame) => {
      if (!outputBroken) out.write(encodeFrame(frame));
    },
    onFrame: (cb) => frameCbs.push(cb),
    onClose: (cb) => closeCbs.push(cb),
    pause: () => process.stdin.pause(),
    resume: () => process.stdin.resume(),
  };
}

/** Keeps stray console output (ours or a library's) off the protocol channel. */
export function redirectConsoleToStderr(): void {
  const toErr = (...args: unknown[]) => process.stderr.write(args.map(String).join(' ') + '\n');
  console.log = toErr;
  console.info = toErr;
  console.debug = toErr;
  console.warn = toErr;
}
