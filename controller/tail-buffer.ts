// What a command on a host printed, kept as its last bytes only: a host that prints without end
// cannot make the controller hold more than this. The end is what messages show (why it failed).

/** Bytes kept of each of a command's streams (stdout, stderr). */
export const MAX_EXEC_OUTPUT = 1024 * 1024;

export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly max = MAX_EXEC_OUTPUT) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    // Whole chunks that fall out of the window go at once; the last one is trimmed in `value`.
    while (this.chunks.length > 1 && this.size - this.chunks[0].length >= this.max) this.size -= this.chunks.shift()!.length;
  }

  get value(): Buffer {
    const all = Buffer.concat(this.chunks, this.size);
    return all.length > this.max ? all.subarray(all.length - this.max) : all;
  }
}
