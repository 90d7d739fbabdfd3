// The hosts of the current play (or of the connection phase), in sections: one per rollout
// batch when there are batches; each section a row per host, or counts when it is large.
import { Box, Text } from 'ink';
import type { HostRow } from '../report/model.js';
import { sections } from '../report/summary.js';
import { GroupedRows } from './GroupedRows.js';
import { HostLine } from './HostLine.js';
import { MAX_ROWS } from './theme.js';

export function HostRows({ rows, now, maxRows = MAX_ROWS }: { rows: HostRow[]; now: number; maxRows?: number }) {
  const nameWidth = Math.min(24, Math.max(4, ...rows.map((r) => r.name.length)));
  return (
    <Box flexDirection="column">
      {sections(rows, maxRows).map((s) => (
        <Box key={s.title ?? ''} flexDirection="column">
          {s.title ? <Text bold>{s.title}</Text> : null}
          {s.grouped ? <GroupedRows rows={s.rows} now={now} /> : s.rows.map((r) => <HostLine key={r.name} row={r} now={now} nameWidth={nameWidth} />)}
        </Box>
      ))}
    </Box>
  );
}
