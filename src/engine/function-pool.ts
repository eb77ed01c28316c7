import { FunctionTimeoutError, RemoteError } from "../sdk/errors.js";
import type { FunctionSpec } from "../loader/manifest.js";
import type { FromWorker, WireError } from "./protocol.js";
import { Worker, WorkerError } from "./worker.js";

/** How a pool gets a fresh worker loaded with its build and started for its function. */
export type WorkerFactory = (spec: FunctionSpec) => Promise<Worker>;

interface Slot {
  worker: Worker;
  inFlight: number;
}

/**
 * The workers of one (non-web) function: up to `maxContainers`, each taking `concurrency`
 * calls at once. A call past `timeout` kills its worker (the pool replaces it on demand);
 * failures are retried per `retries`, each attempt with a fresh timeout.
 */
export class FunctionPool {
  readonly spec: FunctionSpec;
  #make: WorkerFactory;
  #slots: Slot[] = [];
  #starting = 0;
  #waiting: ((slot: Slot) => void)[] = [];
  #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextCall = 1;
  #closed = false;

  constructor(spec: FunctionSpec, make: WorkerFactory) {
    this.spec = spec;
    this.#make = make;
  }

  get workers(): Worker[] {
    return this.#slots.map((s) => s.worker);
  }

  /** Routes a worker's `result` message to its waiting call. */
  onResult(msg: Extract<FromWorker, { t: "result" }>): void {
    const call = this.#calls.get(msg.id);
    if (!call) return;
    this.#calls.delete(msg.id);
    if (msg.ok) call.resolve(msg.value);
    else call.reject(remoteError(msg.error!));
  }

  /** One call with the function's retry policy. */
  async call(args: unknown[]): Promise<unknown> {
    const { maxRetries, backoffCoefficient, initialDelaySec, maxDelaySec } = this.spec.retries;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#attempt(args);
      } catch (error) {
        if (attempt >= maxRetries || this.#closed) throw error;
        const delaySec = Math.min(initialDelaySec * backoffCoefficient ** attempt, maxDelaySec);
        await new Promise((r) => setTimeout(r, delaySec * 1000));
      }
    }
  }

  async #attempt(args: unknown[]): Promise<unknown> {
    const slot = await this.#acquire();
    const id = this.#nextCall++;
    const result = new Promise<unknown>((resolve, reject) => this.#calls.set(id, { resolve, reject }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new FunctionTimeoutError(`function "${this.spec.name}" timed out after ${this.spec.timeoutSec}s; its worker was killed`));
        this.#retire(slot);
        void slot.worker.stop(0);
      }, this.spec.timeoutSec * 1000);
    });
    const died = slot.worker.exited.then(() => {
      throw new WorkerError(`function "${this.spec.name}": its worker ${slot.worker.id} died during the call${tail(slot.worker)}`);
    });
    try {
      if (!slot.worker.send({ t: "call", id, fn: this.spec.name, args })) {
        throw new WorkerError(`function "${this.spec.name}": worker ${slot.worker.id} is not running`);
      }
      return await Promise.race([result, timeout, died]);
    } catch (error) {
      if ((error as Error).name === "DataCloneError") {
        throw new TypeError(`function "${this.spec.name}": an argument cannot cross a process boundary (${(error as Error).message})`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      this.#calls.delete(id);
      this.#release(slot);
    }
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
        const worker = await this.#make(this.spec);
        const slot = { worker, inFlight: 1 };
        this.#slots.push(slot);
        void worker.exited.then(() => this.#retire(slot));
        return slot;
      } finally {
        this.#starting--;
      }
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(slot: Slot): void {
    slot.inFlight--;
    if (!slot.worker.alive) return this.#wakeWithNewWorker();
    const waiter = this.#waiting.shift();
    if (waiter) {
      slot.inFlight++;
      waiter(slot);
    }
  }

  #retire(slot: Slot): void {
    this.#slots = this.#slots.filter((s) => s !== slot);
  }

  #wakeWithNewWorker(): void {
    const waiter = this.#waiting.shift();
    if (waiter) void this.#acquire().then(waiter);
  }

  /** Stops every worker (in-flight calls fail with "stopping"). */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.worker.stop(graceMs)));
    this.#slots = [];
  }
}

function tail(w: Worker): string {
  return w.stderrTail ? `:\n${w.stderrTail}` : "";
}

function remoteError(e: WireError): Error {
  return new RemoteError(e.name, e.message, e.stack);
}
