// One step of a long task (upload, image transfer, build) with a bar when its size is known.
import { Box, Text } from 'ink';
import { bar, progressText } from '../report/format.js';
import type { Progress } from '../report/model.js';

export function ProgressLine({ p, indent }: { p: Progress; indent: number }) {
  const b = bar(p.done, p.total, 20);
  return (
    <Box paddingLeft={indent}>
      {b ? <Text color="cyan">{b} </Text> : null}
      <Text wrap="truncate-end">{progressText(p.label, p.done, p.total)}</Text>
    </Box>
  );
}
