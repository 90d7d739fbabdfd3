// The agent's end of the protocol channel. Frames go out on fd 1 and nowhere else: console output
// is redirected to stderr, and children get their own pipes, so nothing can corrupt the channel.
import { FrameReader, encodeFrame, type AgentFrame, type ControllerFrame, type WireError } from '../protocol/agent-protocol.js';

export interface AgentChannel {
  send(frame: AgentFrame): void;
  onFrame(cb: (frame: ControllerFrame) => void): void;
  onClose(cb: (why?: WireError) => void): void;
}

export function stdioChannel(): AgentChannel {
  const out = process.stdout;
  const frameCbs: Array<(f: ControllerFrame) => void> = [];
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
  const reader = new FrameReader<ControllerFrame>(
    (f) => frameCbs.forEach((cb) => cb(f)),
    (e) => close(e),
  );
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => reader.push(chunk));
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
