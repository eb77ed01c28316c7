import type { WireError } from "../errors.js";
import type { AppManifest } from "../loader/manifest.js";

export type { WireError };

/** Messages from the engine to a worker. */
export type ToWorker =
  | { t: "preload"; modules: string[] }
  | { t: "load"; bundle: string; file: string; selector?: string; env: Record<string, string> }
  | { t: "start"; fn: string; count?: false }
  | { t: "conn" }
  | { t: "call"; id: number; fn: string; args: unknown[] }
  | { t: "entrypoint"; id: number; argv: string[] }
  | { t: "remote-result"; id: number; ok: boolean; value?: unknown; error?: WireError }
  | { t: "drain"; graceMs: number; closeIdle: boolean }
  | { t: "activity" }
  | Batch<ToWorker>;

/** Messages from a worker to the engine. */
export type FromWorker =
  | { t: "hello" }
  | { t: "loaded"; manifest: AppManifest }
  | { t: "ready" }
  | { t: "failed"; error: WireError }
  | { t: "result"; id: number; ok: boolean; value?: unknown; error?: WireError }
  | { t: "remote"; id: number; fn: string; args: unknown[] }
  /** `.spawn()` in app code: the engine answers (`remote-result`) the stored call's id, or undefined. */
  | { t: "spawn"; id: number; fn: string; args: unknown[] }
  | { t: "activity"; inFlight: number; idleMs: number }
  /**
   * A web worker's requests since its last batch (sent at most every `STATS_BATCH_MS`):
   * `durations` is a uniform sample of theirs, at most `STATS_SAMPLE`.
   */
  | { t: "stats"; requests: number; errors: number; durations: number[] }
  | Batch<FromWorker>;

/** Messages posted in one turn of the event loop, sent as one (see `Outbox`). */
export interface Batch<M> {
  t: "batch";
  msgs: M[];
}

/** The most request durations a batch carries. */
export const STATS_SAMPLE = 64;

/** How often a web worker reports its request figures, when it had requests. */
export const STATS_BATCH_MS = 250;

/** An error from serializing a value that structured clone cannot carry (a function, a socket…). */
export function isCloneError(error: unknown): boolean {
  const e = error as Error | undefined;
  return e?.name === "DataCloneError" || /could not be cloned/.test(e?.message ?? "");
}

/**
 * Messages to the other end of an IPC channel, sent together: what is posted in one turn of
 * the event loop goes as one `batch` message at its end (setImmediate: after this turn's I/O
 * callbacks and promise jobs, before the loop waits again, so a lone message is not held
 * back). Each IPC message costs a serialisation, a write(2) that wakes the reader, and a read
 * and an event there: with many calls in flight, a message per call and direction was a large
 * part of the CPU a call cost an engine and its worker.
 */
export class Outbox<M> {
  readonly #send: (msg: M | Batch<M>) => void;
  #queue: { msg: M; onError: (error: Error) => void }[] = [];
  #timer: NodeJS.Immediate | undefined;

  /** `send`: writes one message now (`child.send`, `process.send`); may throw a clone error. */
  constructor(send: (msg: M | Batch<M>) => void) {
    this.#send = send;
  }

  /** Queues `msg` for the end of this turn; `onError` hears if it cannot be sent (a value that cannot be cloned). */
  post(msg: M, onError: (error: Error) => void): void {
    this.#queue.push({ msg, onError });
    this.#timer ??= setImmediate(() => this.flush());
  }

  /**
   * Sends what is queued, now. A value that cannot be cloned fails the whole batch before
   * anything is written: then each message goes alone, and only its own sender hears of it.
   */
  flush(): void {
    if (this.#timer) clearImmediate(this.#timer);
    this.#timer = undefined;
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    if (queue.length > 1) {
      try {
        return this.#send({ t: "batch", msgs: queue.map((q) => q.msg) });
      } catch {
        // Sent one by one below: the error goes to the message it is about.
      }
    }
    for (const { msg, onError } of queue) {
      try {
        this.#send(msg);
      } catch (error) {
        onError(error as Error);
      }
    }
  }
}
