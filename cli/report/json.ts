// `--json`: one event per line, as the controller emitted it, stamped with the schema version
// and the time. Scripts and CI systems read this; its shape is documented in docs/events.md.
import { EVENTS_VERSION, type EventSink } from '../../controller/run/events.js';

export function jsonReporter(out: NodeJS.WritableStream = process.stdout): EventSink {
  return (e) => {
    out.write(terminalSafe(JSON.stringify({ v: EVENTS_VERSION, time: new Date().toISOString(), ...e })) + '\n');
  };
}

/**
 * JSON.stringify escapes C0 controls but writes DEL and C1 (U+007F-U+009F, CSI among them) as
 * they are, and some terminals act on them: `\u` escapes carry the same data safely.
 */
const terminalSafe = (json: string) => json.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
