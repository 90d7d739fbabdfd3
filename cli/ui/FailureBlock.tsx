// Why a host failed, under its row: the rest of the message, the last lines the task printed,
// and what to try.
import { Box, Text } from 'ink';
import { screenSafe } from '../report/format.js';
import type { Failure } from '../report/model.js';

export function FailureBlock({ failure, rest, indent }: { failure: Failure; rest: string[]; indent: number }) {
  return (
    <Box flexDirection="column" paddingLeft={indent}>
      {rest.map((l, i) => (
        <Text key={`m${i}`} color="red">
          {l}
        </Text>
      ))}
      {failure.output.map((l, i) => (
        <Text key={`o${i}`} dimColor wrap="truncate-end">
          │ {screenSafe(l)}
        </Text>
      ))}
      {failure.hint ? <Text color="yellow">hint: {failure.hint}</Text> : null}
    </Box>
  );
}
