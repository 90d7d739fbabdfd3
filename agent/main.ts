// The agent: started by the controller over one SSH exec channel, it announces itself with a
// marker line, sends its hello (protocol version, own sha256, facts) and then serves requests
// until the controller says bye or the channel closes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROTOCOL_VERSION, READY_MARKER, type ControllerFrame, type RequestBody } from '../protocol/agent-protocol.js';
import { BlobStore } from './blob-store.js';
import { redirectConsoleToStderr, stdioChannel } from './channel.js';
import { docker } from './docker-client.js';
import { gatherFacts } from './facts.js';
import { runPlan } from './runner.js';
import { runWatcherIfAsked } from './watcher/entry.js';

// `--watch`: this process is the host's watcher daemon (agent/watcher/); it never returns here.
await runWatcherIfAsked(process.argv);
redirectConsoleToStderr();
const nonce = process.argv[2] ?? '';
process.stdout.write(`\n${READY_MARKER} ${nonce}\n`);

const channel = stdioChannel();
const blobs = new BlobStore((f) => channel.send(f), channel);
// Content rendered for this host (it may hold secrets) does not outlive the agent (blob-store.ts).
process.on('exit', () => blobs.dropRunFiles());
blobs.removeStaleFolders();
const selfSha = createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex');
// Frames may arrive while facts are gathered: requests wait for the hello, never get lost.
const ready = gatherFacts().then((facts) => {
  channel.send({ t: 'hello', protocol: PROTOCOL_VERSION, agentSha256: selfSha, pid: process.pid, facts, clockMs: Date.now(), upMs: Math.round(performance.now()) });
  // The Docker client takes ~50-100 ms to load; on a host with a running engine, load it while
  // the controller renders plans, rather than in the first task that needs it.
  if (facts.runtime.running) setTimeout(() => docker().catch(() => {}), 0);
  return facts;
});

interface Running {
  cancelled: boolean;
  abort: AbortController;
}
const running = new Map<number, Running>();
let closing = false;

/** Loaded with the first lock.* request: deploy locks this agent took (agent/lock/). */
let locks: typeof import('./lock/serve.js') | undefined;

const exitWhenIdle = () => {
  if (!closing || running.size > 0) return;
  // Peers read from this host's relay only while the run lasts: its spooled content goes now.
  blobs.closeRelay();
  // A controller gone without releasing its locks can do nothing more here: free the host now.
  if (locks) void locks.releaseHeld().finally(() => process.exit(0));
  else process.exit(0);
};

async function serve(id: number, body: RequestBody): Promise<void> {
  const state: Running = { cancelled: false, abort: new AbortController() };
  running.set(id, state);
  try {
    const facts = await ready;
    switch (body.method) {
      case 'run': {
        const result = await runPlan(body.params, {
          emit: (event) => channel.send({ t: 'event', id, event }),
          cancelled: () => state.cancelled,
          signal: state.abort.signal,
          facts,
          blob: (sha) => blobs.get(sha),
          blobStream: (sha) => blobs.stream(sha),
        });
        channel.send({ t: 'res', id, ok: true, result });
        break;
      }
      case 'flood': {
        // Diagnostics for the channel itself: many small events, in order, then a result.
        const payload = 'x'.repeat(body.params.payloadBytes ?? 0);
        for (let seq = 0; seq < body.params.count && !state.cancelled; seq++) {
          channel.send({ t: 'event', id, event: { kind: 'progress', task: -1, label: payload, done: seq, total: body.params.count, seq } });
        }
        channel.send({ t: 'res', id, ok: true, result: { sent: body.params.count } });
        break;
      }
      case 'ping':
        channel.send({ t: 'res', id, ok: true, result: { pong: true, pid: process.pid } });
        break;
      case 'services.ps':
      case 'services.logs':
      case 'services.exec':
      case 'services.releases': {
        // Loaded on first use: a plain run never pays for the services code's requests.
        const { serveServiceRequest } = await import('./services/requests.js');
        const r = await serveServiceRequest(body, { emit: (event) => channel.send({ t: 'event', id, event }), cancelled: () => state.cancelled });
        channel.send(r.ok ? { t: 'res', id, ok: true, result: r.result } : { t: 'res', id, ok: false, error: r.error });
        break;
      }
      case 'image.present':
      case 'image.digest': {
        const { serveImageRequest } = await import('./docker/image-requests.js');
        const r = await serveImageRequest(body);
        channel.send(r.ok ? { t: 'res', id, ok: true, result: r.result } : { t: 'res', id, ok: false, error: r.error });
        break;
      }
      case 'registry.instances':
      case 'registry.fleet': {
        const { serveRegistryRequest } = await import('./registry/serve.js');
        const r = await serveRegistryRequest(body);
        channel.send(r.ok ? { t: 'res', id, ok: true, result: r.result } : { t: 'res', id, ok: false, error: r.error });
        break;
      }
      case 'relay.addresses':
        channel.send({ t: 'res', id, ok: true, result: blobs.relayAddresses() });
        break;
      case 'relay.open': {
        const r = await blobs.openRelay(body.params.key, body.params.port, body.params.bind);
        channel.send(r.ok ? { t: 'res', id, ok: true, result: r.value } : { t: 'res', id, ok: false, error: r.error });
        break;
      }
      case 'lock.acquire':
      case 'lock.renew':
      case 'lock.release':
      case 'lock.status': {
        locks ??= await import('./lock/serve.js');
        const r = await locks.serveLockRequest(body, {
          // The controller stopped renewing (hung, or gone without the channel closing): the
          // run lost its hold on this host, so it stops here after its current task.
          expired: () => running.forEach((x) => (x.cancelled = true)),
        });
        channel.send(r.ok ? { t: 'res', id, ok: true, result: r.result } : { t: 'res', id, ok: false, error: r.error });
        break;
      }
      default:
        channel.send({ t: 'res', id, ok: false, error: { code: 'agent.unknown-method', message: `unknown method ${(body as { method: string }).method}` } });
    }
  } catch (e) {
    const err = e as Error;
    channel.send({ t: 'res', id, ok: false, error: { code: 'agent.internal', message: err.message, detail: err.stack } });
  } finally {
    running.delete(id);
    exitWhenIdle();
  }
}

channel.onFrame((frame: ControllerFrame, payload?: Buffer) => {
  switch (frame.t) {
    case 'req': {
      const { t: _t, id, ...body } = frame;
      void serve(id, body as RequestBody);
      break;
    }
    case 'cancel': {
      const r = running.get(frame.id);
      if (r) r.cancelled = true;
      break;
    }
    case 'blob':
      blobs.onFrame(frame, payload);
      break;
    case 'bye':
      closing = true;
      // The run is over: no peer reads from this host any more, even while a task finishes.
      blobs.closeRelay();
      exitWhenIdle();
      break;
  }
});

// The controller went away (Ctrl-C, a dropped connection): finish the current task so the host
// is never left half-written, start nothing new, then exit.
channel.onClose(() => {
  closing = true;
  for (const r of running.values()) r.cancelled = true;
  blobs.abortAll();
  // The run is over without the controller: its relay closes now, not after the task.
  blobs.closeRelay();
  exitWhenIdle();
});

process.on('uncaughtException', (e) => {
  process.stderr.write(`berth agent: internal error: ${e.stack ?? e.message}\n`);
  process.exit(70);
});
