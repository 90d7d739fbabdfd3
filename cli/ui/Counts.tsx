// `ok 3 · changed 1 · failed 1`: a host's (or a play's) tasks, zeros left out.
import { Text } from 'ink';
import type { Counts as CountsData } from '../report/model.js';
import { STATUS_COLOR } from './theme.js';

export function Counts({ c }: { c: CountsData }) {
  const parts = (['ok', 'changed', 'failed', 'skipped'] as const).filter((k) => c[k] > 0);
  if (!parts.length) return <Text dimColor>no tasks</Text>;
  return (
    <Text>
      {parts.map((k, i) => (
        <Text key={k}>
          {i > 0 ? ' · ' : ''}
          <Text color={c[k] > 0 ? STATUS_COLOR[k] : undefined}>{k} {c[k]}</Text>
        </Text>
      ))}
    </Text>
  );
}
