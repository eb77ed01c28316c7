import { fromWire } from "../errors.js";
import { CancelledError, FunctionTimeoutError, MemoryLimitError } from "../sdk/errors.js";
import type { FunctionSpec } from "../loader/manifest.js";
import { isCloneError, type FromWorker } from "./protocol.js";
import { Backoff } from "./backoff.js";
import { Worker, WorkerError } from "./worker.js";
import type { Activity, ScaleGroup } from "./scaler.js";

/** How a pool gets a fresh worker loaded with its build and started for its function. */
export type WorkerFactory = (spec: FunctionSpec) => Promise<Worker>;

/** Call ids are unique across pools (they name calls in log lines). */
let nextCall = 1;

/**
 * A call cut off because its pool was closing (a redeploy or a stop) and its function's
 * timeout ran out first: the engine logs it and may retry it on the new version's pool.
 */
export class CallCutOffError extends WorkerError {
  override name = "CallCutOffError";
  /** The attempt that was cut off (0 for the first); retries go on from the next one. */
  readonly attempt: number;
  readonly call: string;
  constructor(message: string, call: string, attempt: number) {
    super(message);
    this.call = call;
    this.attempt = attempt;
  }
}

interface Slot {
  worker: Worker;
  inFlight: number;
  /** When its last call ended (or it started), on the pool's clock. */
  idleSince: number;
  /** Fails each call in flight on it, when the worker dies. */
  dying: Set<() => void>;
}

/**
 * The workers of one (non-web) function: up to `maxContainers`, each taking `concurrency`
 * calls at once. A call past `timeout` kills its worker (the pool replaces it on demand);
 * failures are retried per `retries`, each attempt with a fresh timeout.
 */
export class FunctionPool implements ScaleGroup<Slot> {
  readonly spec: FunctionSpec;
  #make: WorkerFactory;
  #now: () => number;
  #slots: Slot[] = [];
  #starting = 0;
  #waiting: ((slot: Slot) => void)[] = [];
  #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #closed = false;
  /** Set when `close` stops workers whose calls outlived the grace. */
  #cutting = false;
  /** Replacing warm workers that would not start or died. */
  #backoff = new Backoff();
  #rewarm: NodeJS.Timeout | undefined;
  #scaledDown = false;

  /** `now`: the clock idle time is measured on (tests pass their own). */
  constructor(spec: FunctionSpec, make: WorkerFactory, now: () => number = Date.now) {
    this.spec = spec;
    this.#make = make;
    this.#now = now;
  }

  get workers(): Worker[] {
    return this.#slots.map((s) => s.worker);
  }

  get policy(): FunctionSpec {
    return this.spec;
  }

  /** True when the scaler stopped its last worker (and none started since). */
  get scaledToZero(): boolean {
    return this.#scaledDown && this.#slots.length === 0;
  }

  /** Workers being started now. */
  get starting(): number {
    return this.#starting;
  }

  /** Each live worker with its calls in flight and how long it has had none. */
  async survey(): Promise<{ worker: Slot; activity: Activity }[]> {
    const now = this.#now();
    return this.#slots
      .filter((s) => s.worker.alive)
      .map((s) => ({ worker: s, activity: { inFlight: s.inFlight, idleMs: s.inFlight > 0 ? 0 : now - s.idleSince } }));
  }

  /** Stops an idle worker (the scaler's choice); one that took a call meanwhile is kept. */
  scaleDown(slot: Slot): void {
    if (slot.inFlight > 0 || this.#closed || !this.#slots.includes(slot)) return;
    this.#retire(slot);
    this.#scaledDown = true;
    void slot.worker.stop(1000);
  }

  /** Starts one more worker ahead of need (a buffer under load); a waiting call takes it first. */
  scaleUp(): void {
    if (this.#closed || this.#slots.length + this.#starting >= this.spec.maxContainers) return;
    this.#starting++;
    void this.#make(this.spec).then(
      (worker) => {
        this.#starting--;
        if (this.#closed) return void worker.stop(1000);
        this.#offer(this.#add(worker, 0));
      },
      () => void this.#starting--,
    );
  }

  /** Routes a worker's `result` message to its waiting call. */
  #onResult(msg: Extract<FromWorker, { t: "result" }>): void {
    const call = this.#calls.get(msg.id);
    if (!call) return;
    this.#calls.delete(msg.id);
    if (msg.ok) call.resolve(msg.value);
    else call.reject(fromWire(msg.error!));
  }

  /**
   * One call with the function's retry policy. `label` (a scheduled run's id) tags the log
   * lines its worker prints; `onRetry` hears of each retry; `firstAttempt` continues the
   * attempts of a call cut off in an earlier pool.
   */
  async call(args: unknown[], opts: CallOptions = {}): Promise<unknown> {
    const { maxRetries } = this.spec.retries;
    for (let attempt = opts.firstAttempt ?? 0; ; attempt++) {
      try {
        return await this.#attempt(args, opts.label, attempt, opts.signal);
      } catch (error) {
        if (attempt >= maxRetries || this.#closed || opts.signal?.aborted) throw error;
        const delaySec = retryDelaySec(this.spec.retries, attempt + 1);
        opts.onRetry?.(attempt + 1, error as Error, delaySec);
        await new Promise((r) => setTimeout(r, delaySec * 1000));
      }
    }
  }

  async #attempt(args: unknown[], label: string | undefined, attempt: number, signal?: AbortSignal): Promise<unknown> {
    const cancelled = () => new CancelledError(`call of "${this.spec.name}" was cancelled`);
    if (signal?.aborted) throw cancelled();
    const slot = await this.#acquire();
    const id = nextCall++;
    const name = label ?? `#${id}`;
    // Lines are tagged with the label until the worker's next call (output may trail the result).
    slot.worker.label = label;
    // One promise per call, settled by whichever comes first: the worker's result, the
    // timeout, the worker's death, a cancel. (Not a race of a promise each: that is four
    // promises and a reaction on the worker's `exited` per call, kept until the worker exits.)
    let settle!: { resolve: (v: unknown) => void; reject: (e: Error) => void };
    const result = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
    this.#calls.set(id, settle);
    const timer = setTimeout(() => {
      settle.reject(new FunctionTimeoutError(`function "${this.spec.name}" timed out after ${this.spec.timeoutSec}s; its worker was killed`));
      this.#retire(slot);
      void slot.worker.stop(0);
    }, this.spec.timeoutSec * 1000);
    const died = () => settle.reject(this.#deathError(slot, name, attempt));
    slot.dying.add(died);
    // A cancelled call's worker is stopped: there is no other way to stop what it runs.
    const onAbort = () => {
      settle.reject(cancelled());
      this.#retire(slot);
      void slot.worker.stop(0);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    try {
      // Sent at the end of this turn, with the other messages to this worker (see `Outbox`).
      if (!slot.worker.post({ t: "call", id, fn: this.spec.name, args }, (error) => settle.reject(error))) {
        throw new WorkerError(`function "${this.spec.name}": worker ${slot.worker.id} is not running`);
      }
      return await result;
    } catch (error) {
      if (isCloneError(error)) {
        throw new TypeError(`function "${this.spec.name}": an argument cannot cross a process boundary (${(error as Error).message})`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      slot.dying.delete(died);
      signal?.removeEventListener("abort", onAbort);
      this.#calls.delete(id);
      this.#release(slot);
    }
  }

  /** What a call fails with when its worker died under it. */
  #deathError(slot: Slot, name: string, attempt: number): Error {
    const over = slot.worker.memoryExceeded;
    if (over) return memoryError(this.spec.name, over.limitMiB);
    if (this.#cutting) {
      return new CallCutOffError(`function "${this.spec.name}": call ${name} was cut off: its worker was stopped after the ${this.spec.timeoutSec}s timeout`, name, attempt);
    }
    return new WorkerError(`function "${this.spec.name}": its worker ${slot.worker.id} died during the call${tail(slot.worker)}`);
  }

  /**
   * Keeps `minContainers` workers running even when idle. A worker that cannot start, or dies,
   * is replaced with capped exponential backoff, for as long as the pool is open.
   */
  async warm(): Promise<void> {
    clearTimeout(this.#rewarm);
    while (!this.#closed && this.#slots.length + this.#starting < this.spec.minContainers) {
      this.#starting++;
      try {
        this.#offer(this.#add(await this.#make(this.spec), 0));
      } catch {
        // Reported to the caller when a call needs a worker; tried again meanwhile.
        return this.#warmLater();
      } finally {
        this.#starting--;
      }
    }
  }

  #warmLater(): void {
    if (this.#closed || this.spec.minContainers === 0) return;
    clearTimeout(this.#rewarm);
    this.#rewarm = setTimeout(() => void this.warm(), this.#backoff.next());
    this.#rewarm.unref();
  }

  #add(worker: Worker, inFlight: number): Slot {
    const slot: Slot = { worker, inFlight, idleSince: this.#now(), dying: new Set() };
    const started = Date.now();
    this.#slots.push(slot);
    worker.onMessage((msg) => {
      if (msg.t === "result") this.#onResult(msg);
    });
    void worker.exited.then(() => {
      this.#retire(slot);
      this.#backoff.exited(Date.now() - started);
      this.#warmLater();
      for (const fail of [...slot.dying]) fail();
    });
    return slot;
  }

  async #acquire(): Promise<Slot> {
    if (this.#closed) throw new WorkerError(`function "${this.spec.name}" is stopping`);
    const free = this.#slots.find((s) => s.inFlight < this.spec.concurrency && s.worker.alive);
    if (free) {
      free.inFlight++;
      return free;
    }
    if (this.#slots.length + this.#starting < this.spec.maxContainers) {
      this.#starting++;
      try {
        return this.#add(await this.#make(this.spec), 1);
      } finally {
        this.#starting--;
      }
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(slot: Slot): void {
    slot.inFlight--;
    if (slot.inFlight === 0) slot.idleSince = this.#now();
    if (!slot.worker.alive) return this.#wakeWithNewWorker();
    const waiter = this.#waiting.shift();
    if (waiter) {
      slot.inFlight++;
      waiter(slot);
    }
  }

  /** A worker that just started idle: a call waiting for one takes it. */
  #offer(slot: Slot): void {
    const waiter = this.#waiting.shift();
    if (!waiter) return;
    slot.inFlight++;
    waiter(slot);
  }

  #retire(slot: Slot): void {
    this.#slots = this.#slots.filter((s) => s !== slot);
  }

  #wakeWithNewWorker(): void {
    const waiter = this.#waiting.shift();
    if (waiter) void this.#acquire().then(waiter);
  }

  /**
   * Takes no new calls, lets calls in flight finish within `graceMs` (the function's timeout,
   * or less on a stop), then stops every worker; a call still running is cut off.
   */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#rewarm);
    const deadline = Date.now() + graceMs;
    while (this.#slots.some((s) => s.inFlight > 0 && s.worker.alive) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.#cutting = true;
    await Promise.all(this.#slots.map((s) => s.worker.stop(1000)));
    this.#slots = [];
  }
}

export interface CallOptions {
  label?: string;
  onRetry?: (attempt: number, error: Error, delaySec: number) => void;
  firstAttempt?: number;
  /** Cancels the call (`FunctionCall.cancel()`): the worker running it is stopped, no retry follows. */
  signal?: AbortSignal;
}

/** Seconds before retry number `attempt` (1-based), as in Modal: min(initialDelay × coefficient^(n-1), maxDelay). */
export function retryDelaySec(policy: FunctionSpec["retries"], attempt: number): number {
  return Math.min(policy.initialDelaySec * policy.backoffCoefficient ** (attempt - 1), policy.maxDelaySec);
}

/** What a call of `fn` fails with when its worker went over its memory limit. */
export function memoryError(fn: string, limitMiB: number): MemoryLimitError {
  const error = new MemoryLimitError(`"${fn}" exceeded its memory limit of ${limitMiB} MiB; its worker was stopped`);
  // Its stack would be nodal's own frames, which callers print as the "remote stack".
  error.stack = `${error.name}: ${error.message}`;
  return error;
}

function tail(w: Worker): string {
  return w.stderrTail ? `:\n${w.stderrTail}` : "";
}
