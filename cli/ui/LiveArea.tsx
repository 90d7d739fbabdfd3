// The part of the screen that moves: a header with the run's elapsed time, then the hosts of
// the play running now. Everything finished has already gone to the history above it.
import { basename } from 'node:path';
import { Box, Text } from 'ink';
import { ms, plural } from '../report/format.js';
import type { RunModel } from '../report/model.js';
import { HostRows } from './HostRows.js';
import { spinner } from './theme.js';

export function LiveArea({ model: m, now }: { model: RunModel; now: number }) {
  if (m.end) return null;
  const rows = m.play ? m.play.hosts.map((h) => m.hosts.get(h)!).filter(Boolean) : [...m.hosts.values()];
  const title = m.play ? `PLAY ${m.play.name}` : m.plays.length ? 'finishing' : 'connecting';
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text color="cyan">{spinner(now)} </Text>
        <Text bold>{m.check ? 'plan' : 'apply'}</Text> {basename(m.playbook)} · {plural(m.hosts.size, 'host')} · {ms(now - m.startedAt)}
      </Text>
      {m.cancelling ? <Text color="yellow">{m.cancelling}</Text> : null}
      {m.rollout ? <Text color="yellow">{m.rollout}</Text> : null}
      <Text bold>
        {title}
        {m.play ? <Text dimColor> · {plural(rows.length, 'host')} · {ms(now - m.play.startedAt)}</Text> : null}
      </Text>
      <HostRows rows={rows} now={now} />
    </Box>
  );
}
