// `--json`: one event per line, as the controller emitted it, stamped with the schema version
// and the time. Scripts and CI systems read this; its shape is documented in docs/events.md.
import { EVENTS_VERSION, type EventSink } from '../../controller/run/events.js';

export function jsonReporter(out: NodeJS.WritableStream = process.stdout): EventSink {
  return (e) => {
    out.write(JSON.stringify({ v: EVENTS_VERSION, time: new Date().toISOString(), ...e }) + '\n');
  };
}
