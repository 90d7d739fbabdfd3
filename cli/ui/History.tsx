// What is finished, printed once above the moving rows and never redrawn (ink's <Static>):
// how the hosts connected, each play's outcome per host with its failures, then the plan and
// the recap.
import { Box, Static, Text } from 'ink';
import type { BerthError } from '../../controller/errors.js';
import { bytes, isDebug, ms, plural, withoutStack } from '../report/format.js';
import type { Counts as CountsData, HostRow, RunModel } from '../report/model.js';
import { Counts } from './Counts.js';
import { HostLine } from './HostLine.js';
import { PlanView } from './PlanView.js';
import { Recap } from './Recap.js';
import type { HistoryEntry } from './store.js';
import { MAX_FAILURES, MAX_ROWS } from './theme.js';

export function History({ entries, model, width, fullWidth }: { entries: HistoryEntry[]; model: RunModel; width: number; fullWidth: number }) {
  return (
    <Static items={entries}>
      {(e) => (
        // Rows read best narrow (name to time at a glance); the plan's diffs need the whole line.
        <Box key={e.id} width={e.kind === 'end' ? fullWidth : width} flexDirection="column">
          <Entry e={e} model={model} />
        </Box>
      )}
    </Static>
  );
}

function Entry({ e, model }: { e: HistoryEntry; model: RunModel }) {
  switch (e.kind) {
    case 'connected':
      return <Connected rows={e.rows} durationMs={e.durationMs} />;
    case 'play':
      return <PlayDone name={e.play.name} rows={e.rows} durationMs={(e.play.endedAt ?? e.play.startedAt) - e.play.startedAt} interrupted={e.interrupted} />;
    case 'note':
      return <Text color="yellow">{e.text}</Text>;
    case 'end':
      return (
        <Box flexDirection="column">
          {e.errors.map((err, i) => (
            <RunError key={i} e={err} />
          ))}
          <Failures rows={e.failures} />
          {model.check && model.recap ? <PlanView model={model} /> : null}
          <Recap model={model} />
        </Box>
      );
  }
}

function Connected({ rows, durationMs }: { rows: HostRow[]; durationMs: number }) {
  const up = rows.filter((r) => r.ready);
  const pushed = up.filter((r) => r.ready!.uploadedBytes > 0);
  const sent = pushed.reduce((n, r) => n + r.ready!.uploadedBytes, 0);
  return (
    <Box flexDirection="column">
      <Text>
        <Text color={up.length ? 'green' : 'red'}>{up.length ? '✔' : '✖'}</Text> connected to {up.length} of {plural(rows.length, 'host')} in {ms(durationMs)}
        {pushed.length ? <Text dimColor> · agent pushed to {plural(pushed.length, 'host')} ({bytes(sent)})</Text> : null}
      </Text>
      <Failures rows={rows.filter((r) => r.state === 'unreachable')} />
    </Box>
  );
}

function PlayDone({ name, rows, durationMs, interrupted }: { name: string; rows: HostRow[]; durationMs: number; interrupted: boolean }) {
  const total: CountsData = { ok: 0, changed: 0, failed: 0, skipped: 0 };
  for (const r of rows) for (const k of ['ok', 'changed', 'failed', 'skipped'] as const) total[k] += r.play[k];
  const failed = rows.some((r) => r.state === 'failed') || total.failed > 0;
  const nameWidth = Math.min(24, Math.max(4, ...rows.map((r) => r.name.length)));
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        {failed ? <Text color="red">✖</Text> : interrupted ? <Text color="yellow">■</Text> : <Text color="green">✔</Text>} <Text bold>PLAY {name}</Text>
        {interrupted ? <Text color="yellow"> (interrupted)</Text> : null}
        <Text dimColor>
          {' '}
          · {plural(rows.length, 'host')} · {ms(durationMs)} ·{' '}
        </Text>
        <Counts c={total} />
      </Text>
      {rows.length <= MAX_ROWS ? rows.map((r) => <HostLine key={r.name} row={r} now={r.endedAt ?? 0} nameWidth={nameWidth} />) : <Failures rows={rows.filter((r) => r.failure)} />}
    </Box>
  );
}

function Failures({ rows }: { rows: HostRow[] }) {
  if (!rows.length) return null;
  const nameWidth = Math.min(24, Math.max(4, ...rows.map((r) => r.name.length)));
  const more = rows.slice(MAX_FAILURES).map((r) => r.name);
  return (
    <Box flexDirection="column">
      {rows.slice(0, MAX_FAILURES).map((r) => (
        <HostLine key={r.name} row={r} now={0} nameWidth={nameWidth} />
      ))}
      {more.length ? <Text color="red">{`  … and ${more.length} more: ${more.slice(0, 20).join(' ')}${more.length > 20 ? ' …' : ''}`}</Text> : null}
    </Box>
  );
}

function RunError({ e }: { e: BerthError }) {
  return (
    <Box flexDirection="column">
      <Text>
        <Text color="red">✖ </Text>
        {e.where ? <Text bold>{e.where}: </Text> : null}
        <Text color="red">{withoutStack(e.message, isDebug())}</Text>
      </Text>
      {e.hint ? <Text color="yellow">{`  hint: ${e.hint}`}</Text> : null}
    </Box>
  );
}
