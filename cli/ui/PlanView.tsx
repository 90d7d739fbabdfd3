// `berth plan`: per host (hosts with the same plan together), what would change and why, with
// diffs, then the summary line.
import { Box, Text } from 'ink';
import { changeMark } from '../report/format.js';
import type { RunModel } from '../report/model.js';
import { planGroups, planSummary, planSummaryLine, type PlanGroup } from '../report/summary.js';
import { Diff } from './Diff.js';

const MARK_COLOR = { '+': 'green', '-': 'red', '~': 'yellow' } as const;

export function PlanView({ model }: { model: RunModel }) {
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text bold>PLAN</Text> <Text dimColor>(check mode: nothing was changed)</Text>
      </Text>
      {planGroups(model).map((g) => (
        <Group key={g.hosts.join(',')} g={g} />
      ))}
      <Text bold>{planSummaryLine(planSummary(model))}</Text>
    </Box>
  );
}

function Group({ g }: { g: PlanGroup }) {
  const changing = g.tasks.filter((t) => t.status === 'changed').length;
  const failing = g.tasks.length - changing;
  const what = [changing ? `${changing} to change` : '', failing ? `${failing} failed` : ''].filter(Boolean).join(', ') || 'nothing to change';
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{g.hosts.join(', ')}</Text>: {what}
      </Text>
      {g.tasks.map((t, i) =>
        t.status === 'failed' ? (
          <Text key={i}>
            {'  '}
            <Text color="red">!</Text> {t.name}: <Text color="red">{(t.message ?? 'failed').split('\n')[0]}</Text>
          </Text>
        ) : t.changes.length === 0 ? (
          <Text key={i}>
            {'  '}
            <Text color="yellow">~</Text> {t.name}
          </Text>
        ) : (
          t.changes.map((c, j) => (
            <Box key={`${i}.${j}`} flexDirection="column">
              <Text>
                {'  '}
                <Text color={MARK_COLOR[changeMark(c)]}>{changeMark(c)}</Text> {t.name}: {c.summary}
                {c.cause ? <Text dimColor>{`  (${c.cause})`}</Text> : null}
              </Text>
              {c.diff ? <Diff text={c.diff} indent={6} /> : null}
            </Box>
          ))
        ),
      )}
    </Box>
  );
}
