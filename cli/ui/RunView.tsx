// The whole live view of a run: the finished parts (printed once) above the moving rows.
import { Component, useSyncExternalStore, type ReactNode } from 'react';
import { Box, useStdout } from 'ink';
import { History } from './History.js';
import { LiveArea } from './LiveArea.js';
import type { RunStore } from './store.js';
import { useNow } from './use-now.js';

const MAX_WIDTH = 90;

export interface RunViewProps {
  store: RunStore;
  /** Re-render period for spinners and timers; 0 renders only when events arrive. */
  tickMs: number;
}

export function RunView({ store, tickMs }: RunViewProps) {
  useSyncExternalStore(store.subscribe, store.getVersion);
  const now = useNow(store.clock, store.model.end ? 0 : tickMs);
  const { stdout } = useStdout();
  // Rows wider than this are hard to follow from name to time on a wide terminal.
  const width = Math.min(stdout.columns || 80, MAX_WIDTH);
  return (
    <Box flexDirection="column" width={width}>
      <History entries={[...store.history]} model={store.model} width={width} fullWidth={stdout.columns || 80} />
      <LiveArea model={store.model} now={now} />
    </Box>
  );
}

/**
 * A bug in the view must not end the run or print React's stack over the operator's screen:
 * the view steps aside and the reporter goes on in plain lines.
 */
export class ViewGuard extends Component<{ onError: (e: Error) => void; children?: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override componentDidCatch(e: Error): void {
    this.props.onError(e);
  }

  override render(): ReactNode {
    return this.state.failed ? null : this.props.children;
  }
}
