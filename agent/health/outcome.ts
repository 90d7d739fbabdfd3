// What one probe found: passed or not, and the output a person needs to see why. Its own file so
// that each probe and probe.ts, which runs them, import it without importing each other.
export interface ProbeOutcome {
  ok: boolean;
  output: string;
}
