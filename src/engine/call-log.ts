import { nodeCrypto } from "../lazy.js";

export type CallOutcome = "success" | "failure" | "timeout";

/** One finished call of a function, as `nodal app calls` shows it. */
export interface CallRecord {
  id: string;
  function: string;
  startedAt: string;
  durationMs: number;
  outcome: CallOutcome;
  error?: string;
}

/** How many finished calls an app keeps in memory (the newest). */
export const CALL_LOG_SIZE = 1000;

/**
 * The recent calls of one app instance, newest last: a fixed-size ring, so a busy app's
 * memory does not grow with its call count. Fed by `Engine.call`, which every call goes
 * through (`.remote()` from workers, the control socket, schedules, `app run`).
 */
export class CallLog {
  readonly #size: number;
  readonly #now: () => number;
  /** Records as kept: the start as a number, made a date only when listed (most never are). */
  readonly #ring: (Kept | undefined)[];
  /** Where the next record goes; the oldest record is there once the ring is full. */
  #next = 0;

  constructor(size = CALL_LOG_SIZE, now: () => number = Date.now) {
    this.#size = size;
    this.#now = now;
    this.#ring = new Array<Kept | undefined>(size);
  }

  /** A call starts; the returned handle records how it ended. */
  begin(fn: string, id = newCallId()): { ok(): void; fail(error: unknown): void } {
    const started = this.#now();
    const end = (outcome: CallOutcome, error?: string) => {
      this.#ring[this.#next] = { id, fn, started, durationMs: Math.max(0, this.#now() - started), outcome, error };
      this.#next = (this.#next + 1) % this.#size;
    };
    return {
      ok: () => end("success"),
      fail: (error) => {
        const e = error instanceof Error ? error : undefined;
        end(e?.name === "FunctionTimeoutError" ? "timeout" : "failure", e ? e.message : String(error));
      },
    };
  }

  /** Finished calls, oldest first; only those of `fn` when given. */
  list(fn?: string): CallRecord[] {
    const ordered = [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
    return ordered
      .filter((r): r is Kept => r !== undefined && (fn === undefined || r.fn === fn))
      .map((r) => ({
        id: r.id,
        function: r.fn,
        startedAt: new Date(r.started).toISOString(),
        durationMs: r.durationMs,
        outcome: r.outcome,
        ...(r.error !== undefined ? { error: r.error } : {}),
      }));
  }
}

interface Kept {
  id: string;
  fn: string;
  started: number;
  durationMs: number;
  outcome: CallOutcome;
  error: string | undefined;
}

/**
 * A call id as Modal spells them: `fc-` and random letters. Drawn from a pool of random bytes
 * refilled 256 ids at a time: each draw from the system's source is a call into OpenSSL that
 * checks the pid (a system call), and every `.remote()` from a worker takes an id.
 */
export function newCallId(): string {
  if (!pool || poolAt >= pool.length) {
    pool = nodeCrypto().randomBytes(ID_BYTES * 256);
    poolAt = 0;
  }
  poolAt += ID_BYTES;
  return `fc-${pool.toString("hex", poolAt - ID_BYTES, poolAt)}`;
}

const ID_BYTES = 6;
let pool: Buffer | undefined;
let poolAt = 0;
