/**
 * Capped exponential backoff for restarting a crashed worker: 100 ms, 200 ms, 400 ms… up to
 * 30 s, for as long as it takes. A worker that ran for a while before it exited was not a
 * crash loop: the next restart starts over from the base delay.
 */
export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  /** How long a worker must have run for its exit to reset the delay. */
  readonly stableMs: number;
  #attempts = 0;

  constructor(opts: { baseMs?: number; maxMs?: number; stableMs?: number } = {}) {
    this.baseMs = opts.baseMs ?? 100;
    this.maxMs = opts.maxMs ?? 30_000;
    this.stableMs = opts.stableMs ?? 30_000;
  }

  /** The delay before the next attempt (each call doubles the one after, up to the cap). */
  next(): number {
    const delay = Math.min(this.baseMs * 2 ** this.#attempts, this.maxMs);
    if (delay < this.maxMs) this.#attempts++;
    return delay;
  }

  /** A worker that had run for `ranMs` exited: after a stable run, start over. */
  exited(ranMs: number): void {
    if (ranMs >= this.stableMs) this.#attempts = 0;
  }
}
