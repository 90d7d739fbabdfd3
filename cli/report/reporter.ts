// What shows a run: a sink for its events, closed at the end. Its own file so that open.ts, which
// picks one, and the live view it loads lazily (cli/ui/render-run.tsx) do not import each other.
import type { EventSink } from '../../controller/run/events.js';

export interface Reporter {
  sink: EventSink;
  /** Draws the last frame and lets go of the terminal; call before anything else is printed. */
  close(): Promise<void>;
}
