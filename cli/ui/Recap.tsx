// The end of a run: a table of hosts (every host up to MAX_ROWS; beyond that the hosts that
// need attention and a line for the rest), the slowest tasks, and the result in words.
import { Box, Text } from 'ink';
import { exitWords, ms } from '../report/format.js';
import { releaseLines, type RunModel } from '../report/model.js';
import { recapRows, recapTotal, slowestTasks, type RecapRow } from '../report/summary.js';
import { MAX_ROWS } from './theme.js';

const COLUMNS = ['ok', 'changed', 'failed', 'unreachable', 'skipped'] as const;
const COLOR = { ok: 'green', changed: 'yellow', failed: 'red', unreachable: 'red', skipped: 'cyan' } as const;

export function Recap({ model, maxRows = MAX_ROWS }: { model: RunModel; maxRows?: number }) {
  const all = recapRows(model);
  const shown = all.length <= maxRows ? all : all.filter((r) => r.failed || r.unreachable).slice(0, maxRows);
  const hidden = all.length - shown.length;
  const w = Math.min(28, Math.max(10, ...all.map((r) => r.host.length + 2)));
  const slow = slowestTasks(model, 5);
  const tw = Math.max(0, ...slow.map((t) => ms(t.durationMs).length));
  const hw = Math.max(0, ...slow.map((t) => t.host.length));
  return (
    <Box flexDirection="column" marginTop={1}>
      {all.length ? (
        <>
          <Text bold>RECAP</Text>
          <Row w={w} host="host" cells={COLUMNS.map((k) => k)} time="time" dim />
          {shown.map((r) => (
            <HostRecap key={r.host} r={r} w={w} />
          ))}
          {hidden > 0 ? <Text dimColor>{`  … ${hidden} more host${hidden === 1 ? '' : 's'} with nothing failed`}</Text> : null}
          {all.length > 1 ? <Row w={w} host={`${all.length} hosts`} cells={COLUMNS.map((k) => String(recapTotal(all)[k]))} time="" dim /> : null}
        </>
      ) : null}
      {releaseLines(model).length ? (
        <Box flexDirection="column" marginTop={1}>
          <Text bold>RELEASES</Text>
          {releaseLines(model).map((l) => (
            <Text key={l}>
              {'  '}
              {l}
            </Text>
          ))}
        </Box>
      ) : null}
      {slow.length ? (
        <Box flexDirection="column" marginTop={1}>
          <Text bold>SLOWEST TASKS</Text>
          {slow.map((t, i) => (
            <Text key={i}>
              {'  '}
              {ms(t.durationMs).padStart(tw)} <Text bold>{t.host.padEnd(hw)}</Text> {t.name}
            </Text>
          ))}
        </Box>
      ) : null}
      {model.end ? <Result code={model.end.exitCode} durationMs={model.end.durationMs} /> : null}
    </Box>
  );
}

function HostRecap({ r, w }: { r: RecapRow; w: number }) {
  const bad = r.failed > 0 || r.unreachable > 0;
  return (
    <Box>
      <Box width={w + 2} flexShrink={0}>
        <Text color={bad ? 'red' : undefined} bold>{`  ${r.host}`}</Text>
      </Box>
      {COLUMNS.map((k) => (
        <Box key={k} width={Math.max(7, k.length) + 1} justifyContent="flex-end" flexShrink={0}>
          <Text color={r[k] > 0 && k !== 'ok' ? COLOR[k] : undefined}>{r[k]}</Text>
        </Box>
      ))}
      <Box width={10} justifyContent="flex-end" flexShrink={0}>
        <Text dimColor>{r.unreachable ? '-' : ms(r.durationMs)}</Text>
      </Box>
    </Box>
  );
}

function Row({ w, host, cells, time, dim }: { w: number; host: string; cells: string[]; time: string; dim?: boolean }) {
  return (
    <Box>
      <Box width={w + 2} flexShrink={0}>
        <Text dimColor={dim}>{`  ${host}`}</Text>
      </Box>
      {cells.map((c, i) => (
        <Box key={i} width={Math.max(7, COLUMNS[i]!.length) + 1} justifyContent="flex-end" flexShrink={0}>
          <Text dimColor={dim}>{c}</Text>
        </Box>
      ))}
      <Box width={10} justifyContent="flex-end" flexShrink={0}>
        <Text dimColor={dim}>{time}</Text>
      </Box>
    </Box>
  );
}

function Result({ code, durationMs }: { code: number; durationMs: number }) {
  return (
    <Box marginTop={1}>
      <Text color={code === 0 ? 'green' : code === 130 ? 'yellow' : 'red'} bold>
        {code === 0 ? '✔' : '✖'} {exitWords(code)} in {ms(durationMs)}
      </Text>
    </Box>
  );
}
