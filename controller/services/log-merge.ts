// `berth logs` without -f shows every host's lines as one timeline, so it holds them until all
// hosts have answered. A host can send without end: past MAX_MERGE_BYTES the lines held are
// shown (in time order) and the next ones are gathered afresh, so memory stays bounded and every
// line is still shown; only lines more than that far apart may come out of order.
export const MAX_MERGE_BYTES = 16 * 1024 * 1024;

/** Bytes a held line costs beyond its text (the object, its host and container names). */
const PER_LINE = 128;

export class LogMerge<L extends { time?: string; line: string }> {
  private held: L[] = [];
  private bytes = 0;

  constructor(
    private readonly show: (line: L) => void,
    private readonly maxBytes = MAX_MERGE_BYTES,
  ) {}

  add(line: L): void {
    this.held.push(line);
    this.bytes += line.line.length + PER_LINE;
    if (this.bytes > this.maxBytes) this.flush();
  }

  /** Shows the lines held, oldest first (a stable sort: one container's lines keep their order). */
  flush(): void {
    const lines = this.held.sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
    this.held = [];
    this.bytes = 0;
    for (const l of lines) this.show(l);
  }
}
