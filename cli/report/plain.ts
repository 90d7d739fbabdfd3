// Plain lines for logs and pipes: no colours unless a TTY asked for them, no cursor movement,
// one line per thing that happened, and a recap table at the end.
import { formatError } from '../../controller/errors.js';
import type { EventSink, HostRecap } from '../../controller/run/events.js';

export interface PlainOptions {
  verbose: boolean;
  color: boolean;
  out?: NodeJS.WritableStream;
}

export function plainReporter(opts: PlainOptions): EventSink {
  const out = opts.out ?? process.stdout;
  const paint = (code: number, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const status = { ok: paint(32, 'ok'), changed: paint(33, 'changed'), failed: paint(31, 'FAILED'), skipped: paint(36, 'skipped') };
  let width = 8;
  const pad = (h: string) => h.padEnd(width);
  const line = (s: string) => out.write(s + '\n');
  const indent = (text: string, n: number) => text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');

  return (e) => {
    switch (e.type) {
      case 'run-start':
        width = Math.max(8, ...e.hosts.map((h) => h.length + 1));
        return line(`${e.check ? 'plan' : 'apply'} ${e.playbook} on ${e.hosts.length} host${e.hosts.length === 1 ? '' : 's'}${e.check ? ' (check mode: nothing is changed)' : ''}`);
      case 'host-ready': {
        const pushed = [e.pushed.agent && 'agent', e.pushed.node && 'node runtime'].filter(Boolean).join(' + ');
        const up = e.uploadedBytes > 0 ? `, pushed ${pushed} (${mb(e.uploadedBytes)})` : '';
        return line(`  ${pad(e.host)} connected in ${ms(e.connectMs)}, agent up in ${ms(e.agentMs)}${up}`);
      }
      case 'host-unreachable':
        return line(`  ${pad(e.host)} ${paint(31, 'UNREACHABLE')} ${formatError({ ...e.error, where: undefined })}`);
      case 'play-start':
        return line(`\n${paint(1, `PLAY ${e.play}`)} [${e.hosts.join(' ')}]`);
      case 'task-end': {
        const tag = e.handler ? 'handler ' : '';
        line(`  ${pad(e.host)} ${status[e.status]}  ${tag}${e.name}  (${ms(e.durationMs)})`);
        for (const c of e.changes) {
          if (e.status !== 'changed' || !opts.verbose) break;
          line(`  ${pad('')}   - ${c.summary}${c.cause ? ` [${c.cause}]` : ''}`);
        }
        for (const c of e.changes) if (c.diff) line(indent(c.diff, width + 5));
        if (e.status === 'failed' && e.message) line(indent(e.message, width + 5));
        return;
      }
      case 'output':
        if (opts.verbose) line(`  ${pad(e.host)} | ${e.line}`);
        return;
      case 'host-failed':
        return line(`  ${pad(e.host)} ${paint(31, 'FAILED')} ${formatError({ ...e.error, where: e.error.where === e.host ? undefined : e.error.where })}`);
      case 'cancelling':
        return line(paint(33, `\n${e.reason}`));
      case 'recap':
        return recap(e.hosts);
      case 'run-end':
        return line(`\n${exitWords(e.exitCode)} in ${ms(e.durationMs)}`);
    }
  };

  function recap(hosts: Record<string, HostRecap>) {
    line(`\n${paint(1, 'RECAP')}`);
    line(`  ${pad('host')} ${['ok', 'changed', 'failed', 'skipped'].map((h) => h.padStart(7)).join(' ')}  time`);
    for (const [h, r] of Object.entries(hosts)) {
      if (r.unreachable) {
        line(`  ${pad(h)} ${paint(31, 'unreachable')}`);
        continue;
      }
      const cells = [r.ok, r.changed, r.failed, r.skipped].map((n) => String(n).padStart(7)).join(' ');
      line(`  ${pad(h)} ${cells}  ${ms(r.durationMs)}`);
    }
  }
}

const ms = (n: number) => (n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`);
const mb = (n: number) => (n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`);

function exitWords(code: number): string {
  switch (code) {
    case 0:
      return 'done';
    case 1:
      return 'failed: a task failed on at least one host (exit 1)';
    case 2:
      return 'bad input: nothing was changed on any host (exit 2)';
    case 3:
      return 'incomplete: at least one host was unreachable (exit 3)';
    case 130:
      return 'cancelled (exit 130)';
    default:
      return `ended with exit ${code}`;
  }
}
