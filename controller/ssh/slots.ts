// A counting semaphore. sshd refuses more than MaxSessions (default 10) open session channels
// per connection; queueing here turns that limit into waiting instead of a failed task.

export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = Math.max(1, size);
  }

  /** Resolves with a release function; call it exactly once. */
  acquire(): Promise<() => void> {
    const release = once(() => {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    });
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(release);
    }
    return new Promise((resolve) => this.waiting.push(() => resolve(release)));
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
