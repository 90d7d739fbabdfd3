// A unified diff, coloured the way every terminal user reads one.
import { Box, Text } from 'ink';
import { diffLine } from '../report/format.js';

const COLOR = { head: undefined, hunk: 'cyan', add: 'green', del: 'red', same: undefined } as const;

export function Diff({ text, indent }: { text: string; indent: number }) {
  const lines = text.replace(/\n$/, '').split('\n');
  return (
    <Box flexDirection="column" paddingLeft={indent}>
      {lines.map((l, i) => {
        const kind = diffLine(l);
        return (
          <Text key={i} color={COLOR[kind]} bold={kind === 'head'}>
            {l === '' ? ' ' : l}
          </Text>
        );
      })}
    </Box>
  );
}
