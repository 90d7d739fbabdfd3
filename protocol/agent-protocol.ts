// The one place where the controller and the agent meet. The controller knows nothing of
// Docker and the agent nothing of SSH: everything they say to each other is declared here.
//
// Transport: newline-delimited JSON frames on the agent's stdin (controller -> agent) and stdout
// (agent -> controller); on stdin, a raw `blob` frame's line is followed by its content's bytes. Anything the login shell, MOTD, sudo or a profile script prints before
// the agent starts is discarded: the controller ignores every byte until it sees
// `${READY_MARKER} ${nonce}` with the nonce it chose for this session.

export const PROTOCOL_VERSION = 1;

/** A frame larger than this is a protocol violation; the reader drops the connection. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Printed by the agent on its own line before its first frame. */
export const READY_MARKER = 'BERTH-AGENT-READY';

/** Printed by the bootstrap script when the host lacks a piece the controller must upload. */
export const NEED_MARKER = 'BERTH-NEED';

/** Exit code of the bootstrap script when it printed a NEED line. */
export const NEED_EXIT_CODE = 97;

/** An error that crosses the wire: a code for machines and a message for a person. */
export interface WireError {
  code: string;
  message: string;
  /** Extra lines for a person (last output lines, a remote stack for internal errors). */
  detail?: string;
}

// ---------------------------------------------------------------------------------------------
// Facts: sent by the agent inside its hello, so facts cost no round trip of their own. Their
// schema (host-facts.ts) is what the controller accepts from a host.

import type { HostFacts } from './host-facts.js';

export type { HostFacts };

// ---------------------------------------------------------------------------------------------
// Plans: the controller renders a host's whole plan and sends it in one frame.

export interface PlannedTask {
  /** Position in the plan; events refer to tasks by it. */
  index: number;
  name: string;
  /** Module name, e.g. `command`. */
  module: string;
  /** Module parameters, already rendered with vars and facts on the controller. */
  params: unknown;
  /** Task-level flags the agent acts on. */
  ignoreErrors?: boolean;
  /** Names of handlers to notify when this task changed something. */
  notify?: string[];
  /**
   * Condition (an expression over vars, facts and registered results, true/false, or a list of
   * expressions that must all hold); false -> skipped.
   */
  when?: string | boolean | string[];
  /** Name under which this task's result is kept for later tasks of the play. */
  register?: string;
  /** With a loop: append this item's result to `<register>.results` instead of replacing it. */
  registerItem?: boolean;
  /** Overrides the change status: an expression over `result` (and vars), a fixed value, or a list that must all hold. */
  changedWhen?: string | boolean | string[];
  /** Overrides the failure status, like changedWhen. */
  failedWhen?: string | boolean | string[];
  /** Vars of this task alone (task vars, the loop item), on top of the plan's vars. */
  vars?: Record<string, unknown>;
  /**
   * The params still hold templates that need results registered on the host: the agent renders
   * them just before the task runs.
   */
  deferred?: boolean;
  /** Hide this task's output and messages entirely (Ansible's no_log). */
  noLog?: boolean;
  /** The task asks for root (play or task `become`); the agent checks that it runs as root. */
  become?: boolean;
  /** Play or task `become_user`: the module's program runs as this user (the agent must be root). */
  becomeUser?: string;
  /** Play and task `environment` (the task's win): the environment of every program the task runs. */
  environment?: Record<string, string>;
  /** becomeUser and environment still hold templates over registered results: the agent renders them. */
  settingsDeferred?: boolean;
  /** The content this task writes holds a secret: each of its diffs is one line saying so. */
  secretDiff?: boolean;
}

export interface HostPlan {
  /** Inventory name of the host, for messages. */
  host: string;
  /** Report what would change and change nothing. */
  check: boolean;
  /** Include before/after diffs in change reports. */
  diff: boolean;
  tasks: PlannedTask[];
  /** Handlers, run once at the end when notified. */
  handlers: PlannedTask[];
  /** The host's vars for this play (facts included), for conditions and deferred templates. */
  vars: Record<string, unknown>;
  /**
   * Values to mask in every output line, message, diff and event (each line of a multi-line one
   * too): the secrets this host's own tasks use, and no other.
   */
  secrets: string[];
}

export interface ChangeReport {
  /** One line for a person: `create /etc/app.conf`, `run: echo hi`. */
  summary: string;
  /** Why: `missing`, `content differs`, `always runs`. */
  cause?: string;
  /** Unified diff or a before/after pair, present when the plan asked for diffs. */
  diff?: string;
}

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

// ---------------------------------------------------------------------------------------------
// Controller -> agent.

export type RequestBody =
  | { method: 'run'; params: HostPlan }
  /** Diagnostics: the agent answers with `count` progress events, then a result. */
  | { method: 'flood'; params: { count: number; payloadBytes?: number } }
  | { method: 'ping'; params?: Record<string, never> }
  | ServiceRequest
  | ImageRequest
  | RegistryRequest
  | LockRequest
  | RelayRequest;

// ---------------------------------------------------------------------------------------------
// Images before a play (controller/services/pin-digests.ts): which images a host has, and what
// digest a registry has for a tag now, asked through a host's engine (its network, its
// insecure-registries and mirrors), so that every host of the run pulls that one digest.

export type ImageRequest =
  /** Which of `refs` this host's engine has. Answers { present: string[]; engine: boolean } (engine false: it does not answer). */
  | { method: 'image.present'; params: { refs: string[] } }
  /**
   * The digest the registry has for `ref` now, without pulling. Answers { digest } (repository@sha256:...);
   * an error names the registry's answer, with a hint in `detail`.
   */
  | { method: 'image.digest'; params: { ref: string; auth?: { username: string; password: string; registry?: string } } };

// ---------------------------------------------------------------------------------------------
// Host-to-host relay of content (agent/relay/, controller/relay/): a host that receives a blob
// can pass it on to other hosts of the run while it arrives, so the controller's uplink carries
// it once instead of once per host. Hosts talk TLS with a pre-shared key the controller makes
// for the run (no certificates to manage); content is checked against its sha256 on arrival
// whichever way it came.

/** Relayed content is this large at least: below it, a redirect costs more than it saves. */
export const RELAY_MIN_BYTES = 1024 * 1024;

/** How a host reaches another host's relay. */
export interface RelaySource {
  /** The inventory name of the host serving it, for messages and for reporting a failure. */
  host: string;
  address: string;
  port: number;
  /** Bytes of the whole content: a transfer that ends short of it falls back to the controller. */
  size: number;
}

export type RelayRequest =
  /** This host's interface addresses, from which the controller picks those other hosts are given. Answers RelayEndpoint['addresses']. */
  | { method: 'relay.addresses' }
  /**
   * Opens this host's relay for the run: content the controller marks as shareable (`share` on
   * its blob frames) that arrives from now on is kept while the run lasts and served to hosts that
   * present `key` (hex, 32 bytes), on the addresses in `bind` only: those the other hosts are
   * given (none: this host fetches from peers but serves nobody). `port` 0: any free port.
   * Answers RelayEndpoint.
   */
  | { method: 'relay.open'; params: { key: string; port: number; bind: string[] } };

export interface RelayEndpoint {
  port: number;
  /** The host's own addresses (no loopback), with prefix lengths, for the controller to pick from. */
  addresses: Array<{ address: string; family: 'IPv4' | 'IPv6'; cidr: string; iface: string }>;
}

// ---------------------------------------------------------------------------------------------
// Services outside of a run (`berth ps`, `logs`, `exec`). Services themselves are converged by a
// `run` plan: the controller turns a play's `services:` into tasks of the agent's internal
// `services.*` modules, whose params are the specs of modules/service-spec.ts.

/** Which containers a request is about: berth's containers of a playbook, a service, a replica. */
export interface ContainerSelector {
  /** Project name of the playbook (its `name`); absent: every playbook's. */
  playbook?: string;
  service?: string;
  /** A sidecar of the service, instead of the service's own container. */
  sidecar?: string;
  replica?: number;
}

export type ServiceRequest =
  /** Answers ServiceContainerStatus[]. */
  | { method: 'services.ps'; params: ContainerSelector }
  /** Streams `container-output` events; with `follow`, until cancelled. Answers { lines }. */
  | { method: 'services.logs'; params: ContainerSelector & { follow: boolean; since?: string; tail?: number } }
  /** Runs a command in one running container, output as `container-output` events. Answers { exitCode, container }. */
  | { method: 'services.exec'; params: ContainerSelector & { cmd: string[]; user?: string; workdir?: string; env?: Record<string, string> } }
  /** Answers ServiceReleases[]: each service's release history on the host. */
  | { method: 'services.releases'; params: { playbook: string; service?: string } };

/** A service's release history on one host, newest first, as `berth releases` shows it. */
export interface ServiceReleases {
  service: string;
  /** The release live now; absent when the last converge did not finish. */
  current?: string;
  since?: string;
  /**
   * `digests`: image reference -> repository@sha256, for the images that came from a registry.
   * `secrets`: the names of the secrets the release's spec uses (a rollback is sent their values).
   */
  releases: Array<{ id: string; createdAt: string; operator: string; revision: string; images: Record<string, string>; digests?: Record<string, string>; secrets?: string[]; imagesPresent: boolean }>;
}

/** One container of a service, as `berth ps` shows it. */
export interface ServiceContainerStatus {
  playbook: string;
  service: string;
  sidecar?: string;
  replica: number;
  name: string;
  id: string;
  /** created, running, exited, ... and Docker's own words ("Up 3 minutes (healthy)"). */
  state: string;
  status: string;
  health?: 'healthy' | 'unhealthy' | 'starting';
  exitCode?: number;
  image: string;
  release: string;
  /** "0.0.0.0:8080->80/tcp" */
  ports: string[];
  job: boolean;
  /** An on-demand run (`berth run`), not a replica. */
  oneoff: boolean;
  created: string;
  /** A scheduled job's timer, as the host's watcher keeps it (only on a scheduled job's own container). */
  schedule?: ScheduleReport;
}

/** A scheduled job's schedule and its last runs (newest last), as `berth ps` shows them. */
export interface ScheduleReport {
  /** The expression as the playbook says it: "*\/5 * * * *", "@daily", "@every 30s". */
  schedule: string;
  /** ISO time of the next run; absent when the watcher has not picked the schedule up (yet). */
  next?: string;
  runs: ScheduledRun[];
}

/** One due time of a scheduled job: a run, or why there was none. */
export interface ScheduledRun {
  container: string;
  startedAt: string;
  /** Absent while the run goes on. */
  endedAt?: string;
  exitCode?: number;
  /** Not started, and why: "still running" (the previous run had not ended). */
  skipped?: string;
  /** The run could not start or could not be followed to its end. */
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// The service registry (agent/registry/): healthy instances, registered by each host's watcher.

/** An instance as the registry stores it (the JSON value of its key in etcd). */
export interface ServiceInstance {
  /** Unique on its host: the container's name. */
  id: string;
  service: string;
  host: string;
  address: string;
  port: number;
  tags: string[];
  release: string;
  health: 'passing' | 'critical';
  /** ISO time the current registration began. */
  registeredAt: string;
  meta?: Record<string, string>;
}

/** An instance as its host's watcher sees it: registered, or withdrawn and why. */
export interface InstanceReport {
  id: string;
  service: string;
  host: string;
  container: string;
  release: string;
  tags: string[];
  health: 'starting' | 'healthy' | 'unhealthy';
  registered: boolean;
  registeredAt?: string;
  address?: string;
  port?: number;
  lastOutput: string;
  lastCheckAt?: string;
  /** Consecutive failed checks. */
  failures: number;
  /** The backend refused the registration or could not be reached. */
  error?: string;
  restarts: number;
  backend: 'embedded' | 'etcd';
}

/** Answer to `registry.instances`. */
export interface RegistryReport {
  backend: 'embedded' | 'etcd';
  /** This host's name in the registry. */
  host: string;
  watcher: { pid: number; agentSha256: string; current: boolean } | null;
  instances: InstanceReport[];
  /** Embedded backend: this host's live registrations, for the controller's fleet view. */
  local: ServiceInstance[];
  /**
   * Embedded backend: the fleet view this host holds (pushed by an earlier apply), so that a run
   * that reaches only some hosts keeps what is known of the others instead of forgetting them.
   */
  fleet?: FleetView;
}

/**
 * The embedded backend's view of the fleet, as the controller gathered it: `hosts` are the hosts
 * whose instances it holds (a host with none is covered too), so that a later run that reaches
 * only some hosts knows which view is the freshest word on each of the others.
 */
export interface FleetView {
  gatheredAt: string;
  hosts?: string[];
  instances: ServiceInstance[];
}

export type RegistryRequest =
  /** This host's instances (all, or one service's). Answers RegistryReport. */
  | { method: 'registry.instances'; params?: { service?: string } }
  /** Embedded backend: the other hosts' instances, gathered by the controller. Answers { instances }. */
  | { method: 'registry.fleet'; params: FleetView };

// ---------------------------------------------------------------------------------------------
// Deploy locks (agent/lock/): one run at a time converges a host. The host lock is a file in
// berth's directory on the host; with an etcd registry, a fleet lock per playbook is a key held
// by a lease. Times are the host's clock (or etcd's lease), never the controller's.

/** Who takes a lock: sent by the controller, kept in the lock. */
export interface LockOwner {
  /** user@controller-hostname */
  holder: string;
  /** The controller's pid. */
  pid: number;
  /** One id per run: a run that asks again for its own lock renews it. */
  runId: string;
  /** `--lock-reason`, shown to whoever is refused. */
  reason?: string;
  /** What holds it: apply, run, rollback. */
  command: string;
  /** The playbook's project name. */
  playbook?: string;
}

/** A lock as held: its owner, when it was taken and when it runs out unless renewed. */
export interface DeployLock extends LockOwner {
  /** ISO time the lock was taken. */
  time: string;
  /** ISO time after which the lock is stale (its holder stopped renewing it) and may be taken over. */
  expiresAt: string;
  /** Host lock: the agent that took it, and when that process began (/proc ticks): once it is gone the lock is stale. */
  agentPid?: number;
  agentStart?: string;
}

/** Answer to every lock.* request. */
export interface LockAnswer {
  /** Where the lock lives: the host's lock file, etcd, or nowhere (a fleet lock asked of a host without an etcd registry). */
  backend: 'file' | 'etcd' | 'none';
  /** acquire: this run holds the lock now. release: a lock was removed. */
  done: boolean;
  /** The lock as it stands after the request (null: free); on a refused acquire, the holder's. */
  lock: DeployLock | null;
  /** acquire: the stale lock this run took over. release: the lock that was removed. */
  previous?: DeployLock;
  /** The lock has expired: its holder stopped renewing it. */
  stale?: boolean;
  /** This host registers in etcd (its `registry` task): the fleet lock can be taken through it. */
  etcd: boolean;
  /** etcd key of the fleet lock. */
  key?: string;
  /** The host's clock when it answered, for ages and expiries. */
  now: string;
}

/** `fleet`: the playbook whose fleet lock (in etcd) is meant, instead of this host's lock. */
export type LockRequest =
  /** Takes the lock, or answers its holder (done: false). A stale lock is taken over (previous). */
  | { method: 'lock.acquire'; params: { owner: LockOwner; ttlMs: number; fleet?: string } }
  /** Extends a held lock by ttlMs from now; error `lock.lost` when this run no longer holds it. */
  | { method: 'lock.renew'; params: { runId: string; ttlMs: number; fleet?: string } }
  /** Removes the lock if `runId` holds it; `force` removes it whoever holds it. */
  | { method: 'lock.release'; params: { runId?: string; force?: boolean; fleet?: string } }
  | { method: 'lock.status'; params: { fleet?: string } };

export type ControllerFrame =
  | ({ t: 'req'; id: number } & RequestBody)
  /** Stop request `id` after the task it is running now. */
  | { t: 'cancel'; id: number }
  /**
   * A piece of a blob the agent fetched; base64, at most BLOB_CHUNK_BYTES decoded. `share`: the
   * content may be passed on to other hosts through this host's relay (files and image layers
   * every host gets alike); never set for content rendered for this host (templates, inline
   * content), which no other host may read.
   */
  | { t: 'blob'; fetch: number; ok: true; data: string; last: boolean; share?: boolean }
  /**
   * The same, raw: on the wire this line is followed by exactly `bytes` bytes of content (at most
   * BLOB_CHUNK_BYTES), which ByteFrameReader hands over with the frame. Content larger than
   * RAW_BLOB_MIN_BYTES travels so: no base64 (a third more bytes to encrypt and send) and no
   * JSON to parse around it.
   */
  | { t: 'blob'; fetch: number; ok: true; bytes: number; last: boolean; share?: boolean }
  | { t: 'blob'; fetch: number; ok: false; error: WireError }
  /**
   * Fetch this content from another host's relay instead (RelayRequest), with the run's key this
   * agent's own `relay.open` brought (only hosts with a relay open are sent elsewhere); the agent
   * checks it as ever.
   */
  | { t: 'blob'; fetch: number; ok: true; relay: RelaySource }
  /** The controller is done; the agent exits. */
  | { t: 'bye' };

// ---------------------------------------------------------------------------------------------
// Agent -> controller.

export type AgentEvent =
  | { kind: 'task-start'; task: number; name: string; module: string; handler?: boolean }
  | {
      kind: 'task-end';
      task: number;
      status: TaskStatus;
      changes: ChangeReport[];
      message?: string;
      durationMs: number;
      handler?: boolean;
      /** A service task's service and its release on the host once it ended (for the recap of a rollout). */
      service?: string;
      release?: string;
    }
  | { kind: 'output'; task: number; stream: 'stdout' | 'stderr'; line: string }
  | { kind: 'progress'; task: number; label: string; done: number; total?: number; seq?: number }
  /**
   * A line a container wrote (`services.logs`, `services.exec`); `time` when Docker timestamps
   * it. `task` is always -1: the line belongs to no task of a plan.
   */
  | { kind: 'container-output'; task: -1; container: string; stream: 'stdout' | 'stderr'; line: string; time?: string };

export interface RunResult {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  cancelled: boolean;
}

export type AgentFrame =
  | {
      t: 'hello';
      protocol: number;
      agentSha256: string;
      pid: number;
      facts: HostFacts;
      /**
       * The host's clock (ms since the epoch) as the hello was sent, and the agent's age then (ms
       * since its process began): the controller compares the first with its own clock to spot
       * skew, and the second narrows down when, in its time, that reading was taken.
       */
      clockMs?: number;
      upMs?: number;
    }
  | { t: 'event'; id: number; event: AgentEvent }
  | { t: 'res'; id: number; ok: true; result: unknown }
  | { t: 'res'; id: number; ok: false; error: WireError }
  | { t: 'log'; level: 'debug' | 'info' | 'warn'; message: string }
  /**
   * The agent asks for content it lacks (a file to copy, a rendered template), by sha256. Plans
   * carry hashes, not content: a host that already has the content never receives it again.
   */
  | {
      t: 'fetch';
      fetch: number;
      sha256: string;
      /** Resume at this byte: the first `from` bytes came from a relay that failed. */
      from?: number;
      /** The relay that failed (a host name): the controller serves this fetch itself and sends no one there again. */
      relayFailed?: string;
      /** Why, for the run's warnings. */
      reason?: string;
    };

/** Decoded bytes per `blob` frame. */
export const BLOB_CHUNK_BYTES = 1024 * 1024;

/** Content from this size on is sent as raw `blob` frames; smaller content stays one base64 line. */
export const RAW_BLOB_MIN_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Framing, shared by both sides so that both enforce the same limits.

export function encodeFrame(frame: ControllerFrame | AgentFrame): string {
  return JSON.stringify(frame) + '\n';
}

/**
 * Splits a byte stream into JSON frames. Calls `onFrame` for each, and `onError` once (then
 * stops) when a line is not JSON or exceeds MAX_FRAME_BYTES: a corrupted channel is never
 * guessed at.
 */
export class FrameReader<F> {
  // The unterminated tail, kept as pieces: joining once per frame keeps a large frame that
  // arrives in many chunks linear in its size, instead of rescanning it on every chunk.
  private parts: string[] = [];
  private size = 0;
  private dead = false;

  constructor(
    private readonly onFrame: (frame: F) => void,
    private readonly onError: (e: WireError) => void,
  ) {}

  push(chunk: string): void {
    if (this.dead) return;
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf('\n', start)) >= 0) {
      const piece = chunk.slice(start, nl);
      const line = this.parts.length ? this.parts.join('') + piece : piece;
      this.parts = [];
      this.size = 0;
      start = nl + 1;
      if (line.length === 0) continue;
      if (line.length > MAX_FRAME_BYTES) return this.fail('protocol.frame-too-large', `frame of ${line.length} bytes exceeds ${MAX_FRAME_BYTES}`);
      let frame: F;
      try {
        frame = JSON.parse(line) as F;
      } catch {
        return this.fail('protocol.garbage', `not a JSON frame: ${JSON.stringify(line.slice(0, 120))}`);
      }
      this.onFrame(frame);
      if (this.dead) return;
    }
    if (start < chunk.length) {
      this.parts.push(chunk.slice(start));
      this.size += chunk.length - start;
      if (this.size > MAX_FRAME_BYTES) this.fail('protocol.frame-too-large', `unterminated frame exceeds ${MAX_FRAME_BYTES} bytes`);
    }
  }

  private fail(code: string, message: string): void {
    this.dead = true;
    this.parts = [];
    this.onError({ code, message });
  }
}

/**
 * FrameReader for a byte stream that also carries raw payloads (controller -> agent): a frame
 * with a numeric `bytes` field is followed by exactly that many bytes, handed to `onFrame` with
 * it. Lines are decoded only once whole, so a character split across chunks is never broken.
 */
export class ByteFrameReader<F> {
  private parts: Buffer[] = [];
  private size = 0;
  /** A frame whose payload is still arriving. */
  private waiting: { frame: F; bytes: number } | undefined;
  private dead = false;

  constructor(
    private readonly onFrame: (frame: F, payload?: Buffer) => void,
    private readonly onError: (e: WireError) => void,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (!this.dead && at < chunk.length) {
      if (this.waiting) {
        const take = Math.min(this.waiting.bytes - this.size, chunk.length - at);
        this.parts.push(chunk.subarray(at, at + take));
        this.size += take;
        at += take;
        if (this.size < this.waiting.bytes) return;
        const { frame } = this.waiting;
        const payload = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
        this.waiting = undefined;
        this.parts = [];
        this.size = 0;
        this.onFrame(frame, payload);
        continue;
      }
      const nl = chunk.indexOf(10, at);
      if (nl < 0) {
        this.parts.push(chunk.subarray(at));
        this.size += chunk.length - at;
        if (this.size > MAX_FRAME_BYTES) this.fail('protocol.frame-too-large', `unterminated frame exceeds ${MAX_FRAME_BYTES} bytes`);
        return;
      }
      const piece = chunk.subarray(at, nl);
      const line = this.parts.length ? Buffer.concat([...this.parts, piece]) : piece;
      this.parts = [];
      this.size = 0;
      at = nl + 1;
      if (line.length === 0) continue;
      if (line.length > MAX_FRAME_BYTES) return this.fail('protocol.frame-too-large', `frame of ${line.length} bytes exceeds ${MAX_FRAME_BYTES}`);
      let frame: F;
      try {
        frame = JSON.parse(line.toString('utf8')) as F;
      } catch {
        return this.fail('protocol.garbage', `not a JSON frame: ${JSON.stringify(line.subarray(0, 120).toString('utf8'))}`);
      }
      const bytes = (frame as { bytes?: unknown } | null)?.bytes;
      if (bytes === undefined) {
        this.onFrame(frame);
        continue;
      }
      if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0 || bytes > MAX_FRAME_BYTES) {
        return this.fail('protocol.bad-payload', `a frame announces a payload of ${JSON.stringify(bytes)} bytes`);
      }
      if (bytes === 0) this.onFrame(frame, Buffer.alloc(0));
      else this.waiting = { frame, bytes };
    }
  }

  private fail(code: string, message: string): void {
    this.dead = true;
    this.parts = [];
    this.waiting = undefined;
    this.onError({ code, message });
  }
}

// Secret masking lives in mask.ts; re-exported for the callers that already import it from here.
export { SECRET_MASK, maskSecrets } from './mask.js';
