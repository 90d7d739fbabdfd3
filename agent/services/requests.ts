// Requests about services outside of a run: `berth ps`, `berth logs`, `berth exec`. They read the
// engine and stream containers' output back; none of them changes a container.
import type Docker from 'dockerode';
import { parseDuration } from '../../modules/lib/duration.js';
import type { AgentEvent, ContainerSelector, ScheduleReport, ServiceContainerStatus, ServiceRequest, WireError } from '../../protocol/agent-protocol.js';
import { readSchedule, readScheduleStatus } from '../watcher/schedule-files.js';
import { engine } from './engine.js';
import { releaseReport } from './release-report.js';
import { lineSplitter, readLines } from './log-lines.js';
import { displayName } from './names.js';
import { observe, type Observed } from './observe.js';

export interface RequestIO {
  emit(event: AgentEvent): void;
  /** True once the controller cancelled the request (Ctrl-C on `logs -f`). */
  cancelled(): boolean;
}

type Answer = { ok: true; result: unknown } | { ok: false; error: WireError };

export async function serveServiceRequest(req: ServiceRequest, io: RequestIO): Promise<Answer> {
  const e = await engine();
  if (!e.ok) return req.method === 'services.ps' ? { ok: true, result: [] } : e;
  switch (req.method) {
    case 'services.ps':
      return { ok: true, result: (await select(e.docker, req.params, { sidecars: true, runs: true })).map(status) };
    case 'services.logs':
      return logs(e.docker, req.params, io);
    case 'services.exec':
      return exec(e.docker, req.params, io);
    case 'services.releases':
      return { ok: true, result: await releaseReport(e.docker, req.params.playbook, req.params.service) };
  }
}

async function select(d: Docker, s: ContainerSelector, opts: { sidecars: boolean; runs: boolean }): Promise<Observed[]> {
  const all = await observe(d, s.playbook, s.service);
  return all
    .filter((c) => (s.sidecar !== undefined ? c.role === s.sidecar : opts.sidecars || c.role === ''))
    .filter((c) => s.replica === undefined || c.replica === s.replica)
    .filter((c) => opts.runs || !c.oneoff)
    .sort((a, b) => a.playbook.localeCompare(b.playbook) || a.service.localeCompare(b.service) || a.replica - b.replica || a.role.localeCompare(b.role));
}

function status(c: Observed): ServiceContainerStatus {
  return {
    playbook: c.playbook,
    service: c.service,
    ...(c.role ? { sidecar: c.role } : {}),
    replica: c.replica,
    name: c.name,
    id: c.id.slice(0, 12),
    state: c.state,
    status: c.status,
    ...(c.health ? { health: c.health } : {}),
    ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
    image: c.image,
    release: c.release,
    ports: c.ports.map((p) => (p.published ? `${p.ip ?? ''}${p.ip ? ':' : ''}${p.published}->${p.target}/${p.protocol}` : `${p.target}/${p.protocol}`)),
    job: c.job,
    oneoff: c.oneoff,
    created: new Date(c.created * 1000).toISOString(),
    ...(c.job && c.role === '' && !c.oneoff ? scheduleOf(c) : {}),
  };
}

/** A scheduled job's schedule, next run and this container's last runs, from the watcher's files. */
function scheduleOf(c: Observed): { schedule?: ScheduleReport } {
  const file = readSchedule(c.playbook, c.service);
  if (!file) return {};
  const status = readScheduleStatus(c.playbook, c.service);
  return {
    schedule: {
      schedule: file.schedule,
      ...(status?.next ? { next: status.next } : {}),
      runs: (status?.runs ?? []).filter((r) => r.container === c.name),
    },
  };
}

const who = (c: Observed) => (c.oneoff ? c.name : displayName(c.service, c.role, c.replica));

/** "10m" (ago), a unix time, or an RFC 3339 time, as the unix seconds Docker wants. */
function sinceSeconds(since: string | undefined): number | undefined {
  if (since === undefined) return undefined;
  if (/^\d{9,}$/.test(since)) return Number(since);
  const ms = parseDuration(since);
  if (ms !== undefined) return Math.floor((Date.now() - ms) / 1000);
  const t = Date.parse(since);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

async function logs(d: Docker, p: Extract<ServiceRequest, { method: 'services.logs' }>['params'], io: RequestIO): Promise<Answer> {
  const since = sinceSeconds(p.since);
  if (p.since !== undefined && since === undefined) return { ok: false, error: { code: 'services.bad-since', message: `--since "${p.since}": expected a duration like 10m or a time like 2024-05-01T10:00:00Z` } };
  const containers = await select(d, p, { sidecars: false, runs: false });
  if (containers.length === 0) return { ok: true, result: { lines: 0 } };
  let lines = 0;
  const buffered: Array<Extract<AgentEvent, { kind: 'container-output' }>> = [];
  const emit = (c: Observed) => (stream: 'stdout' | 'stderr', raw: string) => {
    // Docker puts an RFC 3339 timestamp in front of each line when asked to.
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) ?(.*)$/.exec(raw);
    const ev = { kind: 'container-output' as const, task: -1 as const, container: who(c), stream, line: m ? m[2] : raw, ...(m ? { time: m[1] } : {}) };
    lines += 1;
    if (p.follow) io.emit(ev);
    else buffered.push(ev);
  };
  const streams: NodeJS.ReadableStream[] = [];
  const reading = containers.map(async (c) => {
    const info = await d.getContainer(c.id).inspect();
    const opts = { stdout: true, stderr: true, timestamps: true, ...(since !== undefined ? { since } : {}), ...(p.tail !== undefined ? { tail: p.tail } : {}) };
    if (p.follow) {
      const raw = (await d.getContainer(c.id).logs({ ...opts, follow: true })) as NodeJS.ReadableStream;
      streams.push(raw);
      await readLines(d, raw, info.Config.Tty, emit(c));
    } else {
      const buf = (await d.getContainer(c.id).logs({ ...opts, follow: false })) as unknown as Buffer;
      splitBuffer(buf, info.Config.Tty, emit(c));
    }
  });
  if (p.follow) {
    // Follows until the controller cancels (Ctrl-C), or every container's stream ended.
    const poll = setInterval(() => {
      if (io.cancelled()) for (const s of streams) (s as unknown as { destroy(): void }).destroy();
    }, 200);
    await Promise.allSettled(reading);
    clearInterval(poll);
  } else {
    const r = await Promise.allSettled(reading);
    const bad = r.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (bad) return { ok: false, error: { code: 'services.engine', message: `logs: ${(bad.reason as Error).message}` } };
    buffered.sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
    for (const ev of buffered) io.emit(ev);
  }
  return { ok: true, result: { lines } };
}

function splitBuffer(buf: Buffer, tty: boolean, sink: (stream: 'stdout' | 'stderr', line: string) => void): void {
  if (tty) {
    const s = lineSplitter('stdout', sink);
    s.push(buf);
    s.end();
    return;
  }
  const out = lineSplitter('stdout', sink);
  const err = lineSplitter('stderr', sink);
  for (let at = 0; at + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(at + 4);
    (buf[at] === 2 ? err : out).push(buf.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  out.end();
  err.end();
}

async function exec(d: Docker, p: Extract<ServiceRequest, { method: 'services.exec' }>['params'], io: RequestIO): Promise<Answer> {
  const running = (await select(d, p, { sidecars: false, runs: false })).filter((c) => c.state === 'running');
  const target = running[0];
  if (!target) {
    const what = `${p.service ?? ''}${p.sidecar ? `/${p.sidecar}` : ''}${p.replica !== undefined ? `.${p.replica}` : ''}`;
    return { ok: false, error: { code: 'services.not-running', message: `no running container of ${what} on this host` } };
  }
  const name = who(target);
  const x = await d.getContainer(target.id).exec({
    Cmd: p.cmd,
    AttachStdout: true,
    AttachStderr: true,
    ...(p.user ? { User: p.user } : {}),
    ...(p.workdir ? { WorkingDir: p.workdir } : {}),
    ...(p.env ? { Env: Object.entries(p.env).map(([k, v]) => `${k}=${v}`) } : {}),
  });
  const stream = (await x.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream;
  const poll = setInterval(() => {
    if (io.cancelled()) (stream as unknown as { destroy(): void }).destroy();
  }, 200);
  await readLines(d, stream, false, (s, line) => io.emit({ kind: 'container-output', task: -1, container: name, stream: s, line }));
  clearInterval(poll);
  const info = await x.inspect();
  return { ok: true, result: { exitCode: info.ExitCode ?? -1, container: name } };
}
