// A run as the controller reports it, for the reporter tests: two hosts that connect, one that
// does not, two plays, a change with a diff, a failure with output. Plain data, no I/O.
import type { RunEvent } from '../../controller/run/events.js';

export const DIFF = '--- /etc/demo/app.conf\n+++ /etc/demo/app.conf\n@@ -1 +1 @@\n-greeting=hi\n+greeting=hello\n';

export function sampleRun(opts: { check?: boolean } = {}): RunEvent[] {
  const check = !!opts.check;
  const task = (host: string, play: number, index: number, name: string, module: string) => ({ host, play, task: index, name, module });
  return [
    { type: 'run-start', playbook: 'playbooks/demo.yml', hosts: ['web1', 'web2', 'db9'], check },
    { type: 'host-connecting', host: 'web1' },
    { type: 'host-connecting', host: 'web2' },
    { type: 'host-connecting', host: 'db9' },
    { type: 'host-ready', host: 'web1', connectMs: 120, agentMs: 340, uploadedBytes: 37_200_000, pushed: { agent: true, node: true }, os: 'debian', node: '20.19.2' },
    { type: 'host-ready', host: 'web2', connectMs: 95, agentMs: 40, uploadedBytes: 0, pushed: { agent: false, node: false }, os: 'debian', node: '20.19.2' },
    { type: 'host-unreachable', host: 'db9', error: { code: 'ssh.unreachable', message: 'cannot connect: connection refused', where: 'root@127.0.0.1:1', hint: 'is sshd running there, and is the port right?' } },
    { type: 'play-start', play: 'base', index: 0, hosts: ['web1', 'web2'] },
    { type: 'task-start', ...task('web1', 0, 0, 'write the config', 'template') },
    { type: 'task-start', ...task('web2', 0, 0, 'write the config', 'template') },
    { type: 'task-end', ...task('web1', 0, 0, 'write the config', 'template'), status: 'changed', changes: [{ summary: 'update /etc/demo/app.conf', cause: 'content differs', diff: DIFF }], durationMs: 40 },
    { type: 'task-end', ...task('web2', 0, 0, 'write the config', 'template'), status: 'ok', changes: [], durationMs: 35 },
    { type: 'task-start', ...task('web1', 0, 1, 'warm the cache', 'shell') },
    { type: 'output', host: 'web1', task: 1, stream: 'stdout', line: 'warming 1/2' },
    { type: 'output', host: 'web1', task: 1, stream: 'stdout', line: 'warming 2/2' },
    { type: 'task-end', ...task('web1', 0, 1, 'warm the cache', 'shell'), status: 'changed', changes: [{ summary: 'run: warm-cache', cause: 'commands always run' }], durationMs: 2500 },
    { type: 'task-start', ...task('web2', 0, 1, 'warm the cache', 'shell') },
    { type: 'output', host: 'web2', task: 1, stream: 'stderr', line: 'cache: disk full' },
    {
      type: 'task-end',
      ...task('web2', 0, 1, 'warm the cache', 'shell'),
      status: 'failed',
      changes: [],
      message: 'command exited with code 1\nTypeError: x is undefined\n    at warm (/opt/agent.mjs:1:2)\n    at run (/opt/agent.mjs:3:4)',
      durationMs: 1200,
    },
    { type: 'play-end', index: 0 },
    { type: 'play-start', play: 'finish', index: 1, hosts: ['web1'] },
    { type: 'task-start', ...task('web1', 1, 0, 'create /srv/app', 'file') },
    { type: 'task-end', ...task('web1', 1, 0, 'create /srv/app', 'file'), status: 'changed', changes: [{ summary: 'create directory /srv/app', cause: 'missing' }], durationMs: 12 },
    { type: 'play-end', index: 1 },
    {
      type: 'recap',
      hosts: {
        web1: { ok: 0, changed: 3, failed: 0, skipped: 0, unreachable: false, durationMs: 2600 },
        web2: { ok: 1, changed: 0, failed: 1, skipped: 0, unreachable: false, durationMs: 1300 },
        db9: { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: true, durationMs: 0 },
      },
    },
    { type: 'run-end', exitCode: 1, durationMs: 4100 },
  ];
}
