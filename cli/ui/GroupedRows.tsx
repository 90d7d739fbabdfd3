// Many hosts (a fleet, not a handful): one line per state with its count instead of a row per
// host, the tasks most hosts are running, the failed hosts by name, and a bar of hosts done.
import { Box, Text } from 'ink';
import { bar, ms } from '../report/format.js';
import type { HostRow } from '../report/model.js';
import { countByState, runningTasks, type RowGroup } from '../report/summary.js';
import { GLYPH, spinner } from './theme.js';

const NAMES_SHOWN = 8;

export function GroupedRows({ rows, now }: { rows: HostRow[]; now: number }) {
  const counts = countByState(rows);
  const done = counts.filter((c) => c.group !== 'running' && c.group !== 'waiting').reduce((n, c) => n + c.hosts.length, 0);
  const slowest = rows.filter((r) => r.task).sort((a, b) => a.task!.startedAt - b.task!.startedAt)[0];
  return (
    <Box flexDirection="column">
      <Box paddingLeft={2}>
        <Text color="cyan">{bar(done, rows.length, 30)} </Text>
        <Text>
          {done}/{rows.length} hosts finished
        </Text>
      </Box>
      {counts.map((c) => (
        <Box key={c.group}>
          <Box width={2} flexShrink={0}>
            <GroupGlyph group={c.group} now={now} />
          </Box>
          <Box width={13} flexShrink={0}>
            <Text>{c.group}</Text>
          </Box>
          <Box width={6} flexShrink={0} justifyContent="flex-end" marginRight={2}>
            <Text bold>{c.hosts.length}</Text>
          </Box>
          <Text wrap="truncate-end" dimColor={c.group !== 'failed' && c.group !== 'unreachable'}>
            {detail(c.group, c.hosts, rows)}
          </Text>
        </Box>
      ))}
      {slowest ? (
        <Box paddingLeft={2}>
          <Text dimColor wrap="truncate-end">
            longest running: {slowest.name} on "{slowest.task!.name}" for {ms(now - slowest.task!.startedAt)}
          </Text>
        </Box>
      ) : null}
    </Box>
  );
}

function detail(group: RowGroup, hosts: string[], rows: HostRow[]): string {
  if (group === 'running') return runningTasks(rows).map((t) => `${t.name} ×${t.hosts}`).join(' · ');
  if (group === 'failed' || group === 'unreachable') return hosts.slice(0, NAMES_SHOWN).join(' ') + (hosts.length > NAMES_SHOWN ? ` +${hosts.length - NAMES_SHOWN} more` : '');
  return '';
}

function GroupGlyph({ group, now }: { group: RowGroup; now: number }) {
  if (group === 'running') return <Text color="cyan">{spinner(now)}</Text>;
  if (group === 'done') return <Text color="green">{GLYPH.done}</Text>;
  if (group === 'failed' || group === 'unreachable') return <Text color="red">{GLYPH.failed}</Text>;
  return <Text dimColor>{GLYPH.waiting}</Text>;
}
