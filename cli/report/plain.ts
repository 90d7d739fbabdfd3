// Plain lines for logs, pipes and CI: no spinners, no cursor movement, colours only when a TTY
// asked for them; one line per thing that happened, then the plan (check mode), the recap
// table and the slowest tasks. Tests read this output line by line: change it deliberately.
import type { EventSink } from '../../controller/run/events.js';
import type { BerthError } from '../../controller/errors.js';
import { bytes, exitWords, isDebug, ms, withoutStack } from './format.js';
import { emptyModel, reduce, type ViewEvent } from './model.js';
import { planLines, recapLines, type Paint } from './plain-recap.js';

export interface PlainOptions {
  verbose: boolean;
  color: boolean;
  out?: NodeJS.WritableStream;
  /** Clock for durations the reporter measures itself; tests pin it. */
  now?: () => number;
}

export function plainReporter(opts: PlainOptions): EventSink {
  const out = opts.out ?? process.stdout;
  const now = opts.now ?? (() => performance.now());
  const paint: Paint = (code, s) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const status = { ok: paint(32, 'ok'), changed: paint(33, 'changed'), failed: paint(31, 'FAILED'), skipped: paint(36, 'skipped') };
  const model = emptyModel(now());
  const debug = isDebug();
  let width = 8;
  const pad = (h: string) => h.padEnd(width);
  const line = (s: string) => out.write(s + '\n');
  const indent = (text: string, n: number) => text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
  const hostError = (host: string, word: string, e: BerthError) => {
    const where = e.where && e.where !== host ? `${e.where}: ` : '';
    line(`  ${pad(host)} ${paint(31, word)} ${where}${withoutStack(e.message, debug)}`);
    if (e.hint) line(`  ${pad('')} hint: ${e.hint}`);
  };

  return (ev) => {
    const e = ev as ViewEvent;
    reduce(model, e, now());
    switch (e.type) {
      case 'run-start':
        width = Math.max(8, ...e.hosts.map((h) => h.length + 1));
        return line(`${e.check ? 'plan' : 'apply'} ${e.playbook} on ${e.hosts.length} host${e.hosts.length === 1 ? '' : 's'}${e.check ? ' (check mode: nothing is changed)' : ''}`);
      case 'host-ready': {
        const pushed = [e.pushed.agent && 'agent', e.pushed.node && 'node runtime'].filter(Boolean).join(' + ');
        const up = e.uploadedBytes > 0 ? `, pushed ${pushed} (${bytes(e.uploadedBytes)})` : '';
        return line(`  ${pad(e.host)} connected in ${ms(e.connectMs)}, agent up in ${ms(e.agentMs)}${up}`);
      }
      case 'host-unreachable':
        return hostError(e.host, 'UNREACHABLE', e.error);
      case 'warning':
        line(`  ${pad(e.host ?? '')} ${paint(33, 'WARNING')} ${e.message}`);
        if (e.hint) line(`  ${pad('')} hint: ${e.hint}`);
        return;
      case 'play-start':
        return line(`\n${paint(1, `PLAY ${e.play}`)} [${e.hosts.join(' ')}]`);
      case 'task-end': {
        const tag = e.handler ? 'handler ' : '';
        line(`  ${pad(e.host)} ${status[e.status]}  ${tag}${e.name}  (${ms(e.durationMs)})`);
        if (e.status === 'changed' && opts.verbose) for (const c of e.changes) line(`  ${pad('')}   - ${c.summary}${c.cause ? ` [${c.cause}]` : ''}`);
        // In check mode the diffs are shown once, grouped by host, in the plan at the end.
        if (!model.check) for (const c of e.changes) if (c.diff) line(indent(c.diff.replace(/\n$/, ''), width + 5));
        if (e.status !== 'failed') return;
        if (e.message) line(indent(withoutStack(e.message, debug), width + 5));
        // What the task printed last usually says why; verbose runs have shown it already.
        if (!opts.verbose) for (const l of model.hosts.get(e.host)?.failure?.output ?? []) line(`  ${pad('')}   | ${l}`);
        return;
      }
      case 'output':
        if (opts.verbose) line(`  ${pad(e.host)} | ${e.line}`);
        return;
      case 'host-failed':
        if (model.errors.includes(e.error)) {
          line(`  ${paint(31, 'ERROR')} ${e.error.where ? `${e.error.where}: ` : ''}${withoutStack(e.error.message, debug)}`);
          if (e.error.hint) line(`        hint: ${e.error.hint}`);
          return;
        }
        return hostError(e.host, 'FAILED', e.error);
      case 'batch-start':
        return line(`  ${paint(1, `${e.canary ? 'CANARY' : 'BATCH'} ${e.batch}/${e.batches}`)} [${e.hosts.join(' ')}]`);
      case 'batch-end':
        return line(`  ${paint(e.failed.length ? 31 : 32, `batch ${e.batch}/${e.batches}`)} ${e.failed.length ? `failed on ${e.failed.join(' ')}` : 'healthy'} (${ms(e.durationMs)})`);
      case 'rollout-revert-start':
        return line(`  ${pad(e.host)} ${paint(33, 'REVERTING')} to the release before this run`);
      case 'rollout-revert-end':
        return line(`  ${pad(e.host)} ${e.ok ? paint(33, 'REVERTED') : paint(31, 'REVERT FAILED')}${e.message ? ` ${e.message}` : ''}${Object.keys(e.releases).length ? ` (${Object.entries(e.releases).map(([s, r]) => `${s} at ${r}`).join(', ')})` : ''}`);
      case 'rollout-halted':
        line(paint(31, `\nROLLOUT HALTED: ${e.reason}${e.reverted ? '; the failed batch was reverted' : ''}`));
        if (e.untouched.length) line(`  not touched: ${e.untouched.join(' ')}`);
        return;
      case 'rollout-paused':
        line(paint(33, `\nROLLOUT PAUSED: ${e.reason}`));
        line(`  waiting: ${e.remaining.join(' ')}`);
        line(`  continue with: berth promote (same playbook and inventory)`);
        return;
      case 'cancelling':
        return line(paint(33, `\n${e.reason}`));
      case 'content':
        return line(`\ncontent sent: ${bytes(e.fromController)} from the controller${e.hostToHost > 0 ? `, ${bytes(e.hostToHost)} host to host` : ''}`);
      case 'recap':
        if (model.check) for (const l of planLines(model, paint)) line(l);
        for (const l of recapLines(model, paint)) line(l);
        return;
      case 'run-end':
        return line(`\n${exitWords(e.exitCode)} in ${ms(e.durationMs)}`);
    }
  };
}
