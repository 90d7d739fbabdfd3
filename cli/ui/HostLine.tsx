// One host: a spinner and its current task while it works, one collapsed line of counts once
// it is done, and the reason under it when it failed.
import { Box, Text } from 'ink';
import { bytes, isDebug, ms, screenSafe, withoutStack } from '../report/format.js';
import type { HostRow } from '../report/model.js';
import { Counts } from './Counts.js';
import { FailureBlock } from './FailureBlock.js';
import { ProgressLine } from './ProgressLine.js';
import { GLYPH, spinner } from './theme.js';

interface Props {
  row: HostRow;
  now: number;
  nameWidth: number;
}

export function HostLine({ row, now, nameWidth }: Props) {
  const indent = 2 + nameWidth + 1;
  const message = row.failure ? withoutStack(row.failure.message, isDebug()).split('\n') : [];
  const last = row.state === 'running' ? row.output[row.output.length - 1] : undefined;
  return (
    <Box flexDirection="column">
      <Box>
        <Box width={2} flexShrink={0}>
          <Glyph row={row} now={now} />
        </Box>
        <Box width={nameWidth + 1} flexShrink={0}>
          <Text bold wrap="truncate-end">
            {row.name}
          </Text>
        </Box>
        <Box flexGrow={1} flexShrink={1}>
          <Status row={row} first={message[0]} />
        </Box>
        <Box width={10} flexShrink={0} justifyContent="flex-end">
          <Text dimColor>{elapsed(row, now)}</Text>
        </Box>
      </Box>
      {row.task?.progress.map((p) => <ProgressLine key={p.label} p={p} indent={indent} />)}
      {last !== undefined ? (
        <Box paddingLeft={indent}>
          <Text dimColor wrap="truncate-end">
            │ {screenSafe(last)}
          </Text>
        </Box>
      ) : null}
      {row.failure ? <FailureBlock failure={row.failure} rest={message.slice(1)} indent={indent} /> : null}
    </Box>
  );
}

function Glyph({ row, now }: { row: HostRow; now: number }) {
  switch (row.state) {
    case 'running':
    case 'connecting':
      return <Text color="cyan">{spinner(now)}</Text>;
    case 'idle':
      return row.endedAt === undefined ? <Text dimColor>{GLYPH.waiting}</Text> : <Text color="green">{GLYPH.done}</Text>;
    case 'ready':
      return <Text color="green">{GLYPH.done}</Text>;
    case 'failed':
    case 'unreachable':
      return <Text color="red">{GLYPH.failed}</Text>;
    default:
      return <Text dimColor>{GLYPH.waiting}</Text>;
  }
}

function Status({ row, first }: { row: HostRow; first?: string }) {
  switch (row.state) {
    case 'waiting':
      return <Text dimColor>waiting</Text>;
    case 'connecting':
      return <Text>connecting…</Text>;
    case 'ready': {
      const r = row.ready;
      const pushed = r && [r.pushed.agent && 'agent', r.pushed.node && 'node runtime'].filter(Boolean).join(' + ');
      return <Text wrap="truncate-end">agent up{r && r.uploadedBytes > 0 ? <Text dimColor> (pushed {pushed}, {bytes(r.uploadedBytes)})</Text> : null}</Text>;
    }
    case 'running': {
      const t = row.task!;
      return (
        <Text wrap="truncate-end">
          {t.handler ? <Text color="magenta">handler </Text> : null}
          {t.name}
          {t.name.startsWith(t.module) ? null : <Text dimColor> ({t.module})</Text>}
        </Text>
      );
    }
    case 'idle':
      // Between play-start and the host's first task: nothing to count yet.
      return row.endedAt === undefined ? <Text dimColor>starting…</Text> : <Counts c={row.play} />;
    case 'failed':
      return (
        <Text color="red" wrap="truncate-end">
          {row.failure?.task ? `failed at "${row.failure.task}": ` : 'failed: '}
          {first}
        </Text>
      );
    case 'unreachable':
      return (
        <Text color="red" wrap="truncate-end">
          unreachable: {first}
        </Text>
      );
  }
}

function elapsed(row: HostRow, now: number): string {
  switch (row.state) {
    case 'running':
      return ms(now - row.task!.startedAt);
    case 'connecting':
      return ms(now - row.since);
    case 'ready':
      return row.ready ? ms(row.ready.connectMs + row.ready.agentMs) : '';
    case 'idle':
      return row.endedAt === undefined ? '' : ms(row.endedAt - row.since);
    default:
      return '';
  }
}
