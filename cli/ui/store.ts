// The live view's state: the run model plus the history of finished parts (connections, plays,
// the end), which ink prints once above the moving rows and never redraws. Events arrive far
// faster than a terminal can show them (progress, output): the model takes each at once, the
// view hears about them at most every `throttleMs`.
import type { BerthError } from '../../controller/errors.js';
import { bytes } from '../report/format.js';
import { emptyModel, reduce, type HostRow, type PlayInfo, type RunModel, type ViewEvent } from '../report/model.js';

export type HistoryEntry =
  | { kind: 'connected'; id: string; rows: HostRow[]; durationMs: number }
  | { kind: 'play'; id: string; play: PlayInfo; rows: HostRow[]; interrupted: boolean }
  | { kind: 'note'; id: string; text: string }
  | { kind: 'end'; id: string; failures: HostRow[]; errors: BerthError[] };

const snapshot = (rows: Iterable<HostRow>): HostRow[] => [...rows].map((r) => structuredClone(r));

export class RunStore {
  readonly model: RunModel;
  readonly history: HistoryEntry[] = [];
  /** How a rollout stopped, held until its play's outcome is printed. */
  private rolloutNote: HistoryEntry | undefined;
  private version = 0;
  private listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  /** Hosts whose failure was already printed in the history. */
  private shown = new Set<string>();

  constructor(
    readonly clock: () => number,
    private readonly throttleMs = 50,
  ) {
    this.model = emptyModel(clock());
  }

  push(e: ViewEvent): void {
    const play = this.model.play;
    // Before the first play changes the rows: they still say how each host connected.
    if (e.type === 'play-start' && !this.history.some((h) => h.kind === 'connected')) this.connected();
    const m = reduce(this.model, e, this.clock());
    if (e.type === 'play-end' && play) {
      const rows = play.hosts.map((h) => m.hosts.get(h)!).filter(Boolean);
      for (const r of rows) if (r.failure) this.shown.add(r.name);
      const snap = snapshot(rows);
      // A host that ran no task in this play (all skipped by tags) finished when the play did.
      for (const r of snap) if (r.state === 'idle' && r.endedAt === undefined) r.endedAt = this.clock();
      this.history.push({ kind: 'play', id: `play-${play.index}`, play: m.plays[m.plays.length - 1] ?? play, rows: snap, interrupted: !!m.cancelling });
      if (this.rolloutNote) this.history.push(this.rolloutNote);
      this.rolloutNote = undefined;
    }
    if (e.type === 'cancelling') this.history.push({ kind: 'note', id: 'cancelling', text: e.reason });
    if (e.type === 'rollout-revert-end') this.history.push({ kind: 'note', id: `revert-${e.host}-${this.history.length}`, text: e.ok ? `${e.host} reverted to the release before this run` : `${e.host}: revert FAILED${e.message ? `: ${e.message}` : ''}` });
    // Shown under the play's outcome, which is printed when the play ends.
    if (e.type === 'rollout-halted') this.rolloutNote = { kind: 'note', id: `halted-${e.play}`, text: `rollout halted: ${e.reason}${e.untouched.length ? ` (not touched: ${e.untouched.join(', ')})` : ''}` };
    if (e.type === 'rollout-paused') this.rolloutNote = { kind: 'note', id: `paused-${e.play}`, text: `rollout paused: ${e.reason}; continue with \`berth promote\`` };
    if (e.type === 'content' && e.hostToHost > 0) this.history.push({ kind: 'note', id: 'content', text: `content sent: ${bytes(e.fromController)} from the controller, ${bytes(e.hostToHost)} host to host` });
    if (e.type === 'warning') this.history.push({ kind: 'note', id: `warning-${this.history.length}`, text: `warning: ${e.message}${e.hint ? ` (${e.hint})` : ''}` });
    if (e.type === 'run-end') {
      if (!this.history.some((h) => h.kind === 'connected')) this.connected();
      const failures = [...m.hosts.values()].filter((r) => r.failure && !this.shown.has(r.name));
      this.history.push({ kind: 'end', id: 'end', failures: snapshot(failures), errors: [...m.errors] });
      return this.flush();
    }
    // Structure changes (a play, the end) show at once; the rest at the next tick.
    if (e.type === 'play-start' || e.type === 'play-end' || e.type === 'run-start') return this.flush();
    this.timer ??= setTimeout(() => this.flush(), this.throttleMs);
  }

  private connected(): void {
    const rows = [...this.model.hosts.values()];
    for (const r of rows) if (r.state === 'unreachable') this.shown.add(r.name);
    this.history.push({ kind: 'connected', id: 'connected', rows: snapshot(rows), durationMs: this.clock() - this.model.startedAt });
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.version += 1;
    for (const l of this.listeners) l();
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = (): number => this.version;
}
